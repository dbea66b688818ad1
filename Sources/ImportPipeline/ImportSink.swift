//===----------------------------------------------------------------------===//
// ImageGate: where an import's bytes go: a staging file, with SHA-256, format inspection and the size cap
// applied to every byte as it arrives (never after the fact on an available image).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import GateCore
import ImageCatalog
import ImageInspection

/// Why an import stopped, in words a tenant can act on (`failure_reason`).
package struct ImportFailure: Error, Sendable {
    /// Whose fault: the bytes (a refusal), or the server's storage (nothing wrong with the bytes).
    package enum Cause: Sendable {
        case refused
        /// ENOSPC or EDQUOT: the server has no room for the image.
        case storageFull
        /// Any other write error (EIO, …).
        case storage
    }

    package let reason: String
    package var cause: Cause = .refused

    package init(reason: String, cause: Cause = .refused) {
        self.reason = reason
        self.cause = cause
    }

    /// A failed write of the staging file, with `errno` as its cause.
    static func write(errno code: Int32, reason: String? = nil) -> ImportFailure {
        if let reason { return ImportFailure(reason: reason, cause: .storage) }
        let full = code == ENOSPC || code == EDQUOT
        return ImportFailure(
            reason: (full ? "the server ran out of disk space: " : "")
                + "cannot write the image: \(String(cString: strerror(code)))",
            cause: full ? .storageFull : .storage)
    }
}

/// What a finished import proved about its bytes.
struct ImportedBytes: Sendable {
    let size: UInt64
    let sha256: String
    let virtualSize: UInt64
    let format: ImageFormat
    let encrypted: Bool
}

/// One import's staging file and in-line checks. Used by one thread at a time (callers serialize).
package final class ImportSink {
    let imageID: ImageID
    /// The version the finished bytes become: the image's generation after the import's commit.
    let version: BlobVersion
    private let blobs: any BlobStorage
    private let staging: any BlobStaging
    private var hasher = ResumableSHA256()
    /// nil while the format is still to be detected from the first 64 KiB (`detection`).
    private var inspector: ImageInspector?
    private let detection: FormatDetection?
    /// The first bytes, kept only until the format is detected.
    private var pendingHead: [UInt8] = []
    private let limits: InspectionLimits
    private let cap: UInt64?
    private let expectedSHA256: String?
    package private(set) var bytes: UInt64 = 0
    private var closed = false

    private init(
        version: BlobVersion, blobs: any BlobStorage, staging: any BlobStaging, declared: DeclaredKind,
        detection: FormatDetection?, encrypted: Bool, cap: UInt64?, expectedSHA256: String?
    ) {
        self.imageID = version.image
        self.version = version
        self.blobs = blobs
        self.staging = staging
        self.detection = detection
        self.limits = InspectionLimits(maxVirtualSize: 16 << 40, allowEncrypted: encrypted)
        self.inspector = detection == nil ? ImageInspector(declared: declared, limits: limits) : nil
        self.cap = cap
        self.expectedSHA256 = expectedSHA256
    }

    /// A new, empty staging object for `record`'s import. With `detection`, `declared` is ignored and the
    /// format is what the first 64 KiB sniff as. The import's commit raises the row's generation by one, so
    /// the bytes are finalized as that version.
    package static func create(
        _ record: ImageRecord, blobs: any BlobStorage, declared: DeclaredKind, detection: FormatDetection? = nil,
        encrypted: Bool, cap: UInt64?, expectedSHA256: String?
    ) throws(GateError) -> ImportSink {
        let staging = try blobs.createStaging(
            for: BlobVersion(image: record.id, generation: record.generation &+ 1))
        return ImportSink(
            version: BlobVersion(image: record.id, generation: record.generation &+ 1), blobs: blobs,
            staging: staging, declared: declared, detection: detection, encrypted: encrypted, cap: cap,
            expectedSHA256: expectedSHA256)
    }

    /// Continues an earlier attempt's staging file (after a restart, or a resumed URL fetch): its bytes are
    /// read back through the hash and the inspector, so the checks still cover every byte.
    static func reopen(
        _ record: ImageRecord, staged: StagedBlob, blobs: any BlobStorage, declared: DeclaredKind,
        detection: FormatDetection? = nil, encrypted: Bool, cap: UInt64?, expectedSHA256: String?
    ) throws(GateError) -> ImportSink {
        let staging = try blobs.reopenStaging(staged)
        let sink = ImportSink(
            version: BlobVersion(image: record.id, generation: record.generation &+ 1), blobs: blobs,
            staging: staging, declared: declared, detection: detection, encrypted: encrypted, cap: cap,
            expectedSHA256: expectedSHA256)
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buf.deallocate() }
        var offset: UInt64 = 0
        // An object store cannot read back stored parts: the checks continue from the state saved with the
        // last part, and only the bytes after it (the tail) are read back and checked again.
        if let checkpoint = staging.restoredCheckpoint {
            try sink.restore(ImportCheckpoint.decode(checkpoint.state), at: checkpoint.offset)
            offset = checkpoint.offset
        }
        while true {
            let n = try staging.read(at: offset, into: buf)
            if n == 0 { break }
            if let f = sink.check(UnsafeRawBufferPointer(rebasing: buf[0..<n])) { throw GateError.invalid(f.reason) }
            offset += UInt64(n)
        }
        // Appends continue right after the bytes just checked.
        try staging.truncate(to: offset)
        return sink
    }

    /// Size cap, inspection and hash for bytes that are (or are about to be) in the file.
    private func check(_ buffer: UnsafeRawBufferPointer) -> ImportFailure? {
        if let cap, bytes + UInt64(buffer.count) > cap {
            return ImportFailure(reason: "the image is larger than the allowed \(cap) bytes (quota or import limit)")
        }
        if let f = inspect(buffer) { return f }
        hasher.update(buffer)
        bytes += UInt64(buffer.count)
        return nil
    }

    /// Feeds the inspector; while the format is still to be detected, the first 64 KiB are held back until
    /// they decide it (the same sniffing as `image import --file`), then fed in order.
    private func inspect(_ buffer: UnsafeRawBufferPointer) -> ImportFailure? {
        var rest = buffer[...]
        if inspector == nil {
            let take = min(rest.count, ImageFormat.sniffLength - pendingHead.count)
            pendingHead.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            guard pendingHead.count == ImageFormat.sniffLength else { return nil }
            if let f = decideFormat() { return f }
        }
        guard !rest.isEmpty else { return nil }
        return inspector!.feed(UnsafeRawBufferPointer(rebasing: rest)).map { ImportFailure(reason: $0.message) }
    }

    /// Sniffs the held-back head, starts the inspector for that format and feeds it the head.
    private func decideFormat() -> ImportFailure? {
        let format = (detection ?? .any).format(sniffed: ImageFormat.sniff(pendingHead))
        var decided = ImageInspector(declared: ImportManager.declared(format), limits: limits)
        let failure = pendingHead.withUnsafeBytes { decided.feed($0) }
        inspector = decided
        pendingHead = []
        return failure.map { ImportFailure(reason: $0.message) }
    }

    /// Checks and appends `buffer`. A failure means the import must stop; nothing of `buffer` is kept.
    /// With a store that checkpoints, the buffer is split at each checkpoint offset and the checks' state is
    /// saved there, right after the append that reached it.
    package func write(_ buffer: UnsafeRawBufferPointer) -> ImportFailure? {
        guard let interval = staging.checkpointInterval, interval > 0 else { return writePiece(buffer) }
        var rest = buffer
        while !rest.isEmpty {
            let n = Int(min(UInt64(rest.count), interval - bytes % interval))
            if let f = writePiece(UnsafeRawBufferPointer(rebasing: rest[..<n])) { return f }
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if bytes % interval == 0 {
                do {
                    try staging.saveCheckpoint(checkpoint().encoded(), at: bytes)
                } catch {
                    return ImportFailure(
                        reason: "cannot record the import's progress: \(error.message)", cause: .storage)
                }
            }
        }
        return nil
    }

    /// Whether the staged bytes live in a store that checkpoints (an object store): between two tus PATCHes
    /// the sink is closed, which saves what is held in memory, instead of being kept open.
    package var pausesBetweenChunks: Bool { staging.checkpointInterval != nil }

    /// The checks' state after the bytes so far.
    func checkpoint() -> ImportCheckpoint {
        ImportCheckpoint(sha256: hasher.state, inspector: inspector, pendingHead: pendingHead, bytes: bytes)
    }

    /// Continues from a checkpoint taken after exactly `offset` bytes.
    private func restore(_ c: ImportCheckpoint, at offset: UInt64) throws(GateError) {
        guard c.bytes == offset, let h = ResumableSHA256(state: c.sha256) else {
            throw GateError.io("the import's checkpoint does not match its stored bytes (\(c.bytes) vs \(offset))")
        }
        hasher = h
        inspector = c.inspector
        pendingHead = c.pendingHead
        bytes = c.bytes
    }

    private func writePiece(_ buffer: UnsafeRawBufferPointer) -> ImportFailure? {
        if let f = check(buffer) { return f }
        do {
            try staging.append(buffer)
        } catch {
            return .write(errno: error.errno, reason: error.reason)
        }
        return nil
    }

    /// Final checks (format at end of stream, expected SHA-256), then the atomic finalize: fsync, rename into
    /// the blob store, fsync of the directory. Consumes the sink.
    func finish() -> Result<ImportedBytes, ImportFailure> {
        // The state after the last byte, before the final checks below change it: what a resumed sink restores
        // when this process dies while the store finalizes (a store that cannot read back its bytes).
        let finalState = staging.checkpointInterval == nil ? nil : checkpoint()
        // Shorter than 64 KiB: the format is decided from what there is.
        if inspector == nil, let f = decideFormat() {
            abandon()
            return .failure(f)
        }
        switch inspector!.finish(totalSize: bytes) {
        case .failure(let f):
            abandon()
            return .failure(ImportFailure(reason: f.message))
        case .success(let result):
            let digest = Hex.encode(hasher.finish())
            if let expected = expectedSHA256, expected != digest {
                abandon()
                return .failure(ImportFailure(reason: "sha256 mismatch: expected \(expected), got \(digest)"))
            }
            closed = true
            do {
                if let finalState { try staging.saveFinalCheckpoint(finalState.encoded(), at: bytes) }
                try staging.finalize(as: version)
            } catch {
                staging.abort()
                blobs.remove(imageID)
                return .failure(ImportFailure(reason: "cannot store the image: \(error.message)"))
            }
            let format: ImageFormat
            switch result.format {
            case .qcow2: format = .qcow2
            case .iso: format = .iso
            case .raw: format = .raw
            }
            return .success(
                ImportedBytes(
                    size: bytes, sha256: digest, virtualSize: result.virtualSize, format: format,
                    encrypted: result.encrypted))
        }
    }

    /// Stops: the descriptor is closed and the partial bytes removed.
    package func abandon() {
        guard !closed else { return }
        closed = true
        staging.abort()
    }

    /// Pauses now rather than when the last reference goes: an object store saves the bytes after its last part
    /// (the tail object and the record), so the caller knows they are saved when this returns.
    package func pause() {
        guard !closed else { return }
        closed = true
        staging.close()
    }

    /// Truncates the staging file back to `offset` bytes (a rejected tus chunk); the checks are redone by
    /// reopening, since a hash cannot be rewound.
    package func truncateForRetry(to offset: UInt64) -> Bool {
        (try? staging.truncate(to: offset)) != nil
    }

    deinit { if !closed { staging.close() } }
}

@available(*, unavailable)
extension ImportSink: Sendable {}
