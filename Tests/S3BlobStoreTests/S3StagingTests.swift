//===----------------------------------------------------------------------===//
// ImageGate: an import's multipart upload on the test store: what a pause leaves live, the last part sent
// once, and an import killed after its final checkpoint finished by the next start.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import ImageCatalog
@testable import S3BlobStore
import S3Client
import SliceCache
import Synchronization
import TestSupport
import Testing

/// What the request hook saw (the staged size a HEAD would report at that moment).
final class Observed: Sendable {
    let sizes = Mutex<[UInt64?]>([])
}

@Suite(.enabled(if: TestObjectStore.available, StoreEnvironment.skipMessage))
struct S3StagingTests {
    static func append(_ staging: any BlobStaging, _ bytes: ArraySlice<UInt8>) throws {
        // A buffer of its own rather than a typed-throws closure to withUnsafeBytes (which crashes swift 6.3.1's
        // IR generation in this target).
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        defer { raw.deallocate() }
        raw.copyBytes(from: bytes)
        try staging.append(UnsafeRawBufferPointer(raw))
    }

    /// A tus PATCH ends: the bytes after the last part go to the tail object. While that upload runs, the offset
    /// this node reports stays at the bytes received; afterwards the closed import is no longer live here.
    @Test func closingKeepsTheOffsetAndLeavesNothingLive() throws {
        let s = try StagingStore()
        let id = ImageRecord.newID()
        let staging = try s.store.createStaging(for: BlobVersion(image: id, generation: 1))
        let received = 1_500_000
        try Self.append(staging, Crypto.randomBytes(received)[...])
        let staged = staging.staged
        #expect(s.store.stagedSize(staged) == UInt64(received))

        let duringTailUpload = Observed()
        let store = s.store
        s.sent.afterRequest.withLock {
            $0 = { op in
                guard op == .putObject else { return }
                let size = store.stagedSize(staged)
                duringTailUpload.sizes.withLock { $0.append(size) }
            }
        }
        staging.close()
        s.sent.afterRequest.withLock { $0 = nil }

        #expect(duringTailUpload.sizes.withLock { $0 } == [UInt64(received)])
        #expect(s.store.live.withLock { $0[id] } == nil, "a closed import is not live in this process")
        #expect(s.store.stagedSize(staged) == UInt64(received))
        s.store.removeStaging(staged)
    }

    /// A URL import's end (ImportSink.finish): the bytes after the last whole part go out once, as the last
    /// part, never also as a tail object.
    @Test func finalizeSendsTheLastPartOnce() throws {
        let s = try StagingStore()
        let id = ImageRecord.newID()
        let bytes = Crypto.randomBytes(Int(s.partBytes) + 1_500_000)
        let staging = try s.store.createStaging(for: BlobVersion(image: id, generation: 1))
        try Self.append(staging, bytes[..<Int(s.partBytes)])
        try staging.saveCheckpoint([1], at: s.partBytes)
        try Self.append(staging, bytes[Int(s.partBytes)...])
        try staging.saveFinalCheckpoint([2], at: UInt64(bytes.count))
        try staging.finalize(as: BlobVersion(image: id, generation: 1))

        #expect(s.sent.requests(.putObject) == 0, "no tail object")
        #expect(s.sent.requests(.uploadPart) == 2)
        #expect(s.sent.bytes(.uploadPart) == UInt64(bytes.count), "every byte sent once")
        let key = s.store.objectKey(BlobVersion(image: id, generation: 1))
        #expect(try s.store.client.getObject(key: key).bytes == bytes)
        s.store.remove(id)
    }

    /// The crash guarantee of Docs/object-storage.md ("node killed while finalizing, before
    /// CompleteMultipartUpload"): after the final checkpoint every byte is in a recorded part, so a new process
    /// reopens the import at its end, from that state, and completes the same upload.
    @Test func anImportKilledAfterItsFinalCheckpointIsFinishedFromTheRecord() throws {
        let s = try StagingStore()
        let id = ImageRecord.newID()
        let version = BlobVersion(image: id, generation: 1)
        let bytes = Crypto.randomBytes(Int(s.partBytes) + 1_500_000)
        let staging = try s.store.createStaging(for: version)
        try Self.append(staging, bytes[..<Int(s.partBytes)])
        try staging.saveCheckpoint([1], at: s.partBytes)
        // Paused once (a tus PATCH ended mid-part), reopened, the rest appended: the tail object is replaced.
        try Self.append(staging, bytes[Int(s.partBytes)..<(bytes.count - 1000)])
        staging.close()
        let resumed = try s.store.reopenStaging(staging.staged)
        try Self.append(resumed, bytes[(bytes.count - 1000)...])
        try resumed.saveFinalCheckpoint([2, 3], at: UInt64(bytes.count))
        // Killed here: `finalize` never runs.

        let next = s.restarted()
        let staged = try #require(next.stagedBlobs(of: id).first)
        #expect(next.stagedSize(staged) == UInt64(bytes.count), "every byte is staged")
        let reopened = try next.reopenStaging(staged)
        let checkpoint = try #require(reopened.restoredCheckpoint)
        #expect(checkpoint.offset == UInt64(bytes.count) && checkpoint.state == [2, 3])
        let probe = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 16)
        defer { probe.deallocate() }
        #expect(try reopened.read(at: checkpoint.offset, into: probe) == 0, "nothing after the last part")
        #expect(throws: BlobWriteError.self) { try Self.append(reopened, [0][...]) }
        try reopened.finalize(as: version)

        #expect(try next.client.getObject(key: next.objectKey(version)).bytes == bytes)
        let object = try #require(try next.documents.blob(id))
        #expect(object.size == UInt64(bytes.count) && object.sliceSHA256.count == 7)
        #expect(try next.client.listAllObjects(prefix: next.client.location.key("staging/")).isEmpty, "no tail left")
        next.remove(id)
    }
}
