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
struct ImportFailure: Error, Sendable {
    /// Whose fault: the bytes (a refusal), or the server's storage (nothing wrong with the bytes).
    enum Cause: Sendable {
        case refused
        /// ENOSPC or EDQUOT: the server has no room for the image.
        case storageFull
        /// Any other write error (EIO, …).
        case storage
    }

    let reason: String
    var cause: Cause = .refused

    /// A failed write of the staging file, with `errno` as its cause.
    static func write(errno code: Int32) -> ImportFailure {
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
final class ImportSink {
    let imageID: ImageID
    let stagingPath: String
    private let blobs: BlobStore
    private var fd: Int32
    private var hasher = SHA256Hasher()
    /// nil while the format is still to be detected from the first 64 KiB (`detection`).
    private var inspector: ImageInspector?
    private let detection: FormatDetection?
    /// The first bytes, kept only until the format is detected.
    private var pendingHead: [UInt8] = []
    private let limits: InspectionLimits
    private let cap: UInt64?
    private let expectedSHA256: String?
    private(set) var bytes: UInt64 = 0
    private var closed = false

    private init(
        imageID: ImageID, blobs: BlobStore, fd: Int32, path: String, declared: DeclaredKind,
        detection: FormatDetection?, encrypted: Bool, cap: UInt64?, expectedSHA256: String?
    ) {
        self.imageID = imageID
        self.blobs = blobs
        self.fd = fd
        self.stagingPath = path
        self.detection = detection
        self.limits = InspectionLimits(maxVirtualSize: 16 << 40, allowEncrypted: encrypted)
        self.inspector = detection == nil ? ImageInspector(declared: declared, limits: limits) : nil
        self.cap = cap
        self.expectedSHA256 = expectedSHA256
    }

    /// A new, empty staging file (`O_EXCL`, 0600) for `id`. With `detection`, `declared` is ignored and the
    /// format is what the first 64 KiB sniff as.
    static func create(
        _ id: ImageID, blobs: BlobStore, declared: DeclaredKind, detection: FormatDetection? = nil, encrypted: Bool,
        cap: UInt64?, expectedSHA256: String?
    ) throws(GateError) -> ImportSink {
        let (fd, path) = try blobs.createStaging(for: id)
        return ImportSink(
            imageID: id, blobs: blobs, fd: fd, path: path, declared: declared, detection: detection,
            encrypted: encrypted, cap: cap, expectedSHA256: expectedSHA256)
    }

    /// Continues an earlier attempt's staging file (after a restart, or a resumed URL fetch): its bytes are
    /// read back through the hash and the inspector, so the checks still cover every byte.
    static func reopen(
        _ id: ImageID, path: String, blobs: BlobStore, declared: DeclaredKind, detection: FormatDetection? = nil,
        encrypted: Bool, cap: UInt64?, expectedSHA256: String?
    ) throws(GateError) -> ImportSink {
        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw GateError.io("cannot reopen staging file: \(String(cString: strerror(errno)))") }
        let sink = ImportSink(
            imageID: id, blobs: blobs, fd: fd, path: path, declared: declared, detection: detection,
            encrypted: encrypted, cap: cap, expectedSHA256: expectedSHA256)
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var offset: Int64 = 0
        while true {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw GateError.io("cannot read staging file: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            if let f = buf.withUnsafeBytes({ sink.check(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) {
                throw GateError.invalid(f.reason)
            }
            offset += Int64(n)
        }
        guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else { throw GateError.io("cannot seek staging file") }
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
    func write(_ buffer: UnsafeRawBufferPointer) -> ImportFailure? {
        if let f = check(buffer) { return f }
        var off = 0
        while off < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + off, buffer.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                return .write(errno: errno)
            }
            off += n
        }
        return nil
    }

    /// Final checks (format at end of stream, expected SHA-256), then the atomic finalize: fsync, rename into
    /// the blob store, fsync of the directory. Consumes the sink.
    func finish() -> Result<ImportedBytes, ImportFailure> {
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
                try blobs.finalize(stagingPath: stagingPath, fd: fd, id: imageID)
            } catch {
                blobs.removeStaging(stagingPath)
                blobs.remove(imageID)
                return .failure(ImportFailure(reason: "cannot store the image: \(error.message)"))
            }
            let format: ImageFormat
            switch result.format {
            case .qcow2: format = .qcow2
            case .iso: format = .iso
            case .raw: format = .raw
            }
            return .success(ImportedBytes(
                size: bytes, sha256: digest, virtualSize: result.virtualSize, format: format,
                encrypted: result.encrypted))
        }
    }

    /// Stops: the descriptor is closed and the partial bytes removed.
    func abandon() {
        guard !closed else { return }
        closed = true
        close(fd)
        blobs.removeStaging(stagingPath)
    }

    /// Truncates the staging file back to `offset` bytes (a rejected tus chunk); the checks are redone by
    /// reopening, since a hash cannot be rewound.
    func truncateForRetry(to offset: UInt64) -> Bool {
        ftruncate(fd, off_t(offset)) == 0
    }

    deinit { if !closed { close(fd) } }
}

@available(*, unavailable)
extension ImportSink: Sendable {}
