//===----------------------------------------------------------------------===//
// ImageGate: one import streaming into a multipart upload: a part buffer in memory, slice digests per part,
// the catalog record updated at every checkpoint, the tail saved as an object when the import pauses.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Foundation
import GateCore
import Glibc
import ImageCatalog
import S3Client
import SliceCache
import Synchronization

/// `BlobStaging` for `S3BlobStore`. Bytes collect in a buffer of one part (`partBytes`); a full buffer goes
/// out as the next part on its own thread (`PartUpload`) while the next part's bytes collect in a second
/// buffer, so receiving and uploading overlap and at most two parts per import are held in memory; nothing is
/// buffered whole on local disk. A second full buffer waits for the upload before it. The per-slice SHA-256 the
/// read cache verifies against is computed from the part's bytes on the upload thread.
///
/// Record writes (the checkpoint with its part) stay on the caller's thread: a part's checkpoint is recorded
/// once its upload finished, at the next append that sees it done (or when the import waits for it), so the
/// record never names a part the store does not have.
///
/// Parts of an unfinished multipart upload cannot be read back, so `read(at:)` reaches only the bytes after
/// the last part (the buffer); a resumed import starts from the checkpoint saved with that part instead
/// (`saveCheckpoint`, `restoredCheckpoint`). Used by one thread at a time.
final class S3Staging: BlobStaging {
    private let store: S3BlobStore
    private let image: ImageID
    private var record: S3StagingRecord
    /// Version of the catalog document this staging last wrote or read (compare-and-swap).
    private var documentVersion: Int64?
    /// Parts uploaded since the record was last written (they count once a checkpoint writes them).
    private var pendingParts: [S3StagingRecord.Part] = []
    private var buffer: [UInt8] = []
    /// The part being uploaded now, and the checkpoint saved at its end (recorded once it is stored).
    private var inFlight: PartUpload?
    private var inFlightCheckpoint: [UInt8]?
    /// The previous part's buffer, given back by its finished upload: the next part fills it (no new allocation).
    private var spare: [UInt8] = []
    private var ended = false
    let restoredCheckpoint: (offset: UInt64, state: [UInt8])?

    var staged: StagedBlob {
        StagedBlob(image: image, name: S3BlobStore.name(key: record.key, uploadID: record.uploadID))
    }
    var checkpointInterval: UInt64? { record.partBytes }
    /// Bytes in parts: stored, or being uploaded (they cannot be taken back either way).
    private var uploadedBytes: UInt64 {
        record.storedBytes + pendingParts.reduce(0) { $0 + $1.size } + UInt64(inFlight?.bytes.count ?? 0)
    }
    private var totalBytes: UInt64 { uploadedBytes + UInt64(buffer.count) }

    init(
        store: S3BlobStore, image: ImageID, record: S3StagingRecord, documentVersion: Int64?,
        buffer: [UInt8] = [], checkpoint: (UInt64, [UInt8])? = nil
    ) {
        self.store = store
        self.image = image
        self.record = record
        self.documentVersion = documentVersion
        self.buffer = buffer
        self.restoredCheckpoint = checkpoint
        self.buffer.reserveCapacity(Int(record.partBytes))
        publish()
    }

    /// Continues a paused import: the checkpoint from the record, the tail read back from its object.
    static func reopen(store: S3BlobStore, image: ImageID, record: S3StagingRecord, documentVersion: Int64?)
        throws(GateError) -> S3Staging
    {
        var checkpoint: (UInt64, [UInt8])?
        if let text = record.checkpoint {
            guard let state = Data(base64Encoded: text) else {
                throw GateError.io("the checkpoint of the import of \(image) is damaged")
            }
            checkpoint = (record.storedBytes, Array(state))
        } else if !record.parts.isEmpty {
            throw GateError.io("the import of \(image) stored parts without a checkpoint; it cannot be resumed")
        }
        var tail: [UInt8] = []
        if let tailKey = record.tailKey {
            do {
                tail = try store.client.getObject(key: tailKey).bytes
            } catch {
                throw GateError.io("cannot read back the paused import of \(image): \(error.gateError.message)")
            }
            guard UInt64(tail.count) == record.tailBytes else {
                throw GateError.io("the saved tail of the import of \(image) has \(tail.count) bytes, not \(record.tailBytes)")
            }
        }
        return S3Staging(
            store: store, image: image, record: record, documentVersion: documentVersion, buffer: tail,
            checkpoint: checkpoint)
    }

    /// Tells the store how far this process is (its `stagedSize` answers with it).
    private func publish() {
        let entry = S3BlobStore.LiveStaging(uploadID: record.uploadID, documentVersion: documentVersion, bytes: totalBytes)
        store.live.withLock { $0[image] = entry }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(BlobWriteError) {
        do {
            // A part uploaded since the last append: record it (with its checkpoint) now, not a part later.
            if let inFlight, inFlight.isFinished { try settleInFlight() }
            var rest = bytes[...]
            while !rest.isEmpty {
                let room = Int(record.partBytes) - buffer.count
                let take = min(room, rest.count)
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest.prefix(take)))
                rest = rest.dropFirst(take)
                if buffer.count == Int(record.partBytes) { try startUpload() }
            }
        } catch {
            throw BlobWriteError(errno: EIO, reason: error.message)
        }
        publish()
    }

    /// Hands the full buffer to an upload thread and continues in the spare buffer. The part before it must be
    /// stored first (two parts in memory at most).
    private func startUpload() throws(GateError) {
        try settleInFlight()
        let number = try nextPartNumber()
        var next = spare
        spare = []
        next.removeAll(keepingCapacity: true)
        next.reserveCapacity(Int(record.partBytes))
        swap(&buffer, &next)
        inFlight = PartUpload(
            number: number, bytes: next, client: store.client, key: record.key, uploadID: record.uploadID,
            sliceBytes: record.sliceBytes)
    }

    /// Waits for the part being uploaded, if any; a stored part joins `pendingParts` and, when its checkpoint
    /// was saved meanwhile, is recorded with it.
    private func settleInFlight() throws(GateError) {
        guard let upload = inFlight else { return }
        inFlight = nil
        let checkpoint = inFlightCheckpoint
        inFlightCheckpoint = nil
        let part = try upload.wait().get()
        spare = upload.takeBytes()
        pendingParts.append(part)
        if let checkpoint { try recordCheckpoint(checkpoint) }
    }

    private func nextPartNumber() throws(GateError) -> Int {
        let number = record.parts.count + pendingParts.count + (inFlight == nil ? 0 : 1) + 1
        guard number <= 10_000 else {
            throw GateError.io("the image needs more than 10000 parts of \(record.partBytes) bytes (raise blobs.part_size)")
        }
        return number
    }

    /// Sends the buffer as the next part on this thread and waits for it (the last part of an import).
    private func uploadBuffer() throws(GateError) {
        try settleInFlight()
        let part = try PartUpload.store(
            number: try nextPartNumber(), bytes: buffer, client: store.client, key: record.key,
            uploadID: record.uploadID, sliceBytes: record.sliceBytes)
        pendingParts.append(part)
        buffer.removeAll(keepingCapacity: true)
    }

    func saveCheckpoint(_ state: [UInt8], at offset: UInt64) throws(GateError) {
        guard buffer.isEmpty, offset == uploadedBytes else {
            throw GateError.internal("checkpoint at \(offset) is not at a part boundary (\(uploadedBytes) stored)")
        }
        // The part that ends here is still being uploaded: recorded with it once it is stored.
        if let inFlight, !inFlight.isFinished {
            inFlightCheckpoint = state
            return
        }
        try settleInFlight()
        try recordCheckpoint(state)
    }

    /// Records the stored parts with the checks' state at their end; the old tail object goes.
    private func recordCheckpoint(_ state: [UInt8]) throws(GateError) {
        var next = record
        next.parts += pendingParts
        next.checkpoint = Data(state).base64EncodedString()
        let oldTail = next.tailKey
        next.tailKey = nil
        next.tailBytes = 0
        try write(next)
        pendingParts = []
        if let oldTail { try? store.client.deleteObject(key: oldTail) }
    }

    /// Writes the record if nobody else did since this staging last saw it.
    private func write(_ next: S3StagingRecord) throws(GateError) {
        let w = try store.documents.putStaging(image, next, expectedVersion: documentVersion)
        guard w.written else {
            throw GateError.conflict("the import of \(image) was continued elsewhere; this copy stops")
        }
        record = next
        documentVersion = w.version
        publish()
    }

    func read(at offset: UInt64, into target: UnsafeMutableRawBufferPointer) throws(GateError) -> Int {
        // A part being uploaded is still in memory.
        if let inFlight {
            let start = uploadedBytes - UInt64(inFlight.bytes.count)
            if offset >= start && offset < uploadedBytes {
                let from = Int(offset - start)
                let n = min(target.count, inFlight.bytes.count - from)
                inFlight.bytes.withUnsafeBytes {
                    target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[from..<from + n]))
                }
                return n
            }
        }
        let start = uploadedBytes
        guard offset >= start else {
            throw GateError.internal("bytes before \(start) are in stored parts and cannot be read back")
        }
        let from = Int(offset - start)
        guard from < buffer.count else { return 0 }
        let n = min(target.count, buffer.count - from)
        buffer.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[from..<from + n])) }
        return n
    }

    func truncate(to length: UInt64) throws(GateError) {
        let start = uploadedBytes
        guard length >= start else {
            throw GateError.conflict(
                "cannot take back bytes below \(start): they are already stored as parts of the multipart upload")
        }
        guard length <= totalBytes else { return }
        buffer.removeLast(Int(totalBytes - length))
        publish()
    }

    func finalize(as version: BlobVersion) throws(GateError) {
        defer { end() }
        guard store.objectKey(version) == record.key else {
            throw GateError.conflict("the import was staged as \(record.key), not as generation \(version.generation)")
        }
        try settleInFlight()
        // Recorded first, so a node that dies between here and the catalog commit leaves an upload whose every
        // byte is staged (the last part as the tail): the next start finishes it from the record
        // (ImportManager.finishCompleteUploads) instead of waiting for a client that already had its answer.
        if !buffer.isEmpty && record.tailBytes != UInt64(buffer.count) && pendingParts.isEmpty {
            do {
                try saveTail()
            } catch {
                store.logger.warning("import of \(image): finishing without a saved tail: \(error.message)")
            }
        }
        if !buffer.isEmpty || (record.parts.isEmpty && pendingParts.isEmpty) { try uploadBuffer() }
        let parts = record.parts + pendingParts
        do {
            try store.client.completeMultipartUpload(
                key: record.key, uploadID: record.uploadID,
                parts: parts.map { S3CompletedPart(partNumber: $0.number, etag: $0.etag) })
        } catch {
            throw GateError.io("cannot complete the image in the object store: \(error.gateError.message)")
        }
        let size = parts.reduce(0) { $0 + $1.size }
        // Recorded before the caller's catalog commit says `available`: a reader never finds an object the
        // catalog has no digests for.
        try store.documents.putBlob(
            image,
            SlicedObject(
                key: record.key, size: size, sliceBytes: record.sliceBytes, sliceSHA256: parts.flatMap(\.sliceSHA256)))
        if let tail = record.tailKey { try? store.client.deleteObject(key: tail) }
        _ = try? store.documents.putStaging(image, nil, expectedVersion: documentVersion)
    }

    func abort() {
        guard !ended else { return }
        // An upload still running would race the abort; its outcome no longer matters.
        _ = inFlight?.wait()
        inFlight = nil
        end()
        store.removeStaging(staged)
    }

    /// Pauses: the bytes after the last part go to a tail object, recorded with the parts and the checkpoint,
    /// so `reopenStaging` (here or on another node) continues. Without a checkpoint for uploaded parts nothing
    /// can be resumed from them; the record is left as it was.
    func close() {
        guard !ended else { return }
        end()
        do {
            try settleInFlight()
            try saveTail()
        } catch {
            store.logger.info("import of \(image): not paused here: \(error.message)")
        }
    }

    /// Writes the buffer as the tail object and records it (compare-and-swap); the previous tail goes.
    private func saveTail() throws(GateError) {
        guard pendingParts.isEmpty else {
            throw GateError.conflict("parts were stored after the last checkpoint; not resumable from here")
        }
        var next = record
        let oldTail = next.tailKey
        if buffer.isEmpty {
            next.tailKey = nil
            next.tailBytes = 0
        } else {
            let key = store.client.location.key(
                "staging/\(image)/\(record.uploadID).\(Hex.encode(Crypto.randomBytes(4))).tail")
            do {
                try store.client.putObject(key: key, bytes: buffer)
            } catch {
                throw GateError.io("cannot save the last \(buffer.count) bytes: \(error.gateError.message)")
            }
            next.tailKey = key
            next.tailBytes = UInt64(buffer.count)
        }
        do {
            try write(next)
        } catch {
            if let newTail = next.tailKey { try? store.client.deleteObject(key: newTail) }
            throw error
        }
        if let oldTail, oldTail != next.tailKey { try? store.client.deleteObject(key: oldTail) }
    }

    private func end() {
        ended = true
        let uploadID = record.uploadID
        store.live.withLock { if $0[image]?.uploadID == uploadID { $0[image] = nil } }
    }
}
