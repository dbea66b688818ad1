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
/// out as the next part at once, so at most one part per import is held in memory and nothing is buffered
/// whole on local disk. The per-slice SHA-256 the read cache verifies against is computed from the buffer.
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
    private var ended = false
    let restoredCheckpoint: (offset: UInt64, state: [UInt8])?

    var staged: StagedBlob {
        StagedBlob(image: image, name: S3BlobStore.name(key: record.key, uploadID: record.uploadID))
    }
    var checkpointInterval: UInt64? { record.partBytes }
    private var uploadedBytes: UInt64 { record.storedBytes + pendingParts.reduce(0) { $0 + $1.size } }
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
                throw GateError.io(
                    "the saved tail of the import of \(image) has \(tail.count) bytes, not \(record.tailBytes)")
            }
        }
        return S3Staging(
            store: store, image: image, record: record, documentVersion: documentVersion, buffer: tail,
            checkpoint: checkpoint)
    }

    /// Tells the store how far this process is (its `stagedSize` answers with it). An ended staging is not
    /// live any more: a record write during `close` or `finalize` must not add it back.
    private func publish() {
        guard !ended else { return }
        let entry = S3BlobStore.LiveStaging(
            uploadID: record.uploadID, documentVersion: documentVersion, bytes: totalBytes)
        store.live.withLock { $0[image] = entry }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(BlobWriteError) {
        guard !lastPartStored || bytes.isEmpty else {
            throw BlobWriteError(errno: EIO, reason: "the import's last part is already stored; nothing may follow it")
        }
        var rest = bytes[...]
        while !rest.isEmpty {
            let room = Int(record.partBytes) - buffer.count
            let take = min(room, rest.count)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest.prefix(take)))
            rest = rest.dropFirst(take)
            if buffer.count == Int(record.partBytes) {
                do {
                    try uploadBuffer()
                } catch {
                    throw BlobWriteError(errno: EIO, reason: error.message)
                }
            }
        }
        publish()
    }

    /// Sends the buffer as the next part (a few attempts for a busy or briefly unreachable store).
    private func uploadBuffer() throws(GateError) {
        let number = record.parts.count + pendingParts.count + 1
        guard number <= 10_000 else {
            throw GateError.io(
                "the image needs more than 10000 parts of \(record.partBytes) bytes (raise blobs.part_size)")
        }
        var etag = ""
        var attempt = 0
        while true {
            do {
                etag = try store.client.uploadPart(
                    key: record.key, uploadID: record.uploadID, partNumber: number, bytes: buffer)
                break
            } catch  where error.isTransient && attempt < 3 {
                attempt += 1
                usleep(UInt32(200_000 << attempt))
            } catch {
                throw GateError.io("cannot store part \(number) of the image: \(error.gateError.message)")
            }
        }
        pendingParts.append(
            S3StagingRecord.Part(number: number, etag: etag, size: UInt64(buffer.count), sliceSHA256: sliceDigests()))
        buffer.removeAll(keepingCapacity: true)
    }

    /// SHA-256 of each slice of the buffer (parts are a whole number of slices, so slices never straddle parts).
    private func sliceDigests() -> [String] {
        let slice = Int(record.sliceBytes)
        return stride(from: 0, to: buffer.count, by: slice).map { start in
            buffer.withUnsafeBytes { raw in
                let h = SHA256Hasher()
                h.update(UnsafeRawBufferPointer(rebasing: raw[start..<min(start + slice, buffer.count)]))
                return Hex.encode(h.finish())
            }
        }
    }

    func saveCheckpoint(_ state: [UInt8], at offset: UInt64) throws(GateError) {
        guard buffer.isEmpty, offset == uploadedBytes else {
            throw GateError.internal("checkpoint at \(offset) is not at a part boundary (\(uploadedBytes) stored)")
        }
        try recordCheckpoint(state)
    }

    /// The last part went out (`saveFinalCheckpoint`): it is shorter than a part, so nothing may follow it.
    private var lastPartStored: Bool {
        guard let last = pendingParts.last ?? record.parts.last else { return false }
        return last.size < record.partBytes
    }

    /// Sends the bytes after the last part as the last (short) part and records it with the import's final
    /// state: every byte is then in a recorded part, so a node killed before `CompleteMultipartUpload` leaves
    /// an import the next start finishes from the record, and the last part is sent once (never also as a
    /// tail object). A record write that fails is logged: `finalize` completes the upload with the part anyway.
    func saveFinalCheckpoint(_ state: [UInt8], at offset: UInt64) throws(GateError) {
        guard offset == totalBytes else {
            throw GateError.internal("final checkpoint at \(offset), but \(totalBytes) bytes were staged")
        }
        // A whole number of parts: the checkpoint saved with the last one is already the final state.
        guard !buffer.isEmpty else { return }
        try uploadBuffer()
        do {
            try recordCheckpoint(state)
        } catch {
            store.logger.warning("import of \(image): finishing without recording its last part: \(error.message)")
        }
    }

    /// Writes the record with the parts uploaded since it was last written, `state` as the checkpoint and no
    /// tail object (every byte is in a part now); the tail object it replaced is deleted once that is recorded.
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
        // `ImportSink.finish` stored and recorded the last part first (`saveFinalCheckpoint`), so a node that dies
        // between here and the catalog commit leaves an upload whose every byte is staged: the next start
        // finishes it from the record (ImportManager.finishCompleteUploads) instead of waiting for a client that
        // already had its answer. Bytes still buffered here (no final checkpoint) go out as the last part now.
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
        end()
        store.removeStaging(staged)
    }

    /// Pauses: the bytes after the last part go to a tail object, recorded with the parts and the checkpoint,
    /// so `reopenStaging` (here or on another node) continues. Without a checkpoint for uploaded parts nothing
    /// can be resumed from them; the record is left as it was.
    ///
    /// The live entry goes only after the record is written: until then it is what `stagedSize` answers with
    /// (the catalog does not have the buffered bytes yet), so a HEAD during the tail upload never sees an
    /// offset below the bytes received; once written, the record says the same.
    func close() {
        guard !ended else { return }
        defer { end() }
        do {
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
