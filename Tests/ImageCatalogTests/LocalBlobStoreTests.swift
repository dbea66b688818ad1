//===----------------------------------------------------------------------===//
// ImageGate: the local directory implementation of BlobStorage: staging under the blob root (another file
// system than the catalog's), finalize order and failure, readers by version, reopened staging. An import into
// a blob root on another file system is in ImportPipelineTests (LocalFileImportTests).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Foundation
import GateCore
import Glibc
import ImageCatalog
import Testing

@Suite struct LocalBlobStoreTests {
    /// A blob root on another file system than /tmp when the machine has one (/dev/shm is tmpfs on Linux),
    /// so a rename between the catalog's side and the blobs' side would fail with EXDEV.
    final class OtherFileSystemRoot {
        let path: String
        init() {
            let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
            path = base + "/imagegate-blobs-" + UUID().uuidString
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static func stage(_ store: BlobStore, _ id: ImageID, _ bytes: [UInt8]) throws -> any BlobStaging {
        let staging = try store.createStaging(for: BlobVersion(image: id, generation: 1))
        try bytes.withUnsafeBytes { try staging.append($0) }
        return staging
    }

    static func read(_ reader: any BlobReader) throws -> [UInt8] {
        var out: [UInt8] = []
        var offset: UInt64 = 0
        while offset < reader.size {
            let e = try reader.extent(at: offset, maxLength: 4096)
            var buf = [UInt8](repeating: 0, count: Int(e.length))
            let n = pread(e.fd, &buf, buf.count, off_t(e.offset))
            #expect(n == buf.count)
            out += buf
            offset += e.length
        }
        return out
    }

    @Test("staged bytes are invisible until finalize; a failed finalize keeps them staged and makes no blob")
    func finalizeOrderAndFailure() throws {
        let root = OtherFileSystemRoot()
        let store = BlobStore(root: root.path)
        let id = ImageRecord.newID()
        let staging = try Self.stage(store, id, Array("abcdef".utf8))
        #expect(store.blobIDs().isEmpty)
        #expect(throws: GateError.self) {
            _ = try store.openReader(BlobVersion(image: id, generation: 1), expectedSize: 6)
        }
        // blobs/ cannot be made (a file is in the way): the rename never happens.
        #expect(FileManager.default.createFile(atPath: store.blobDirectory, contents: Data([0])))
        #expect(throws: GateError.self) { try staging.finalize(as: BlobVersion(image: id, generation: 1)) }
        #expect(store.stagedBlobs().map(\.image) == [id])
        #expect(store.stagedSize(store.stagedBlobs()[0]) == 6)
        #expect(store.blobSize(id) == nil)

        try FileManager.default.removeItem(atPath: store.blobDirectory)
        let again = try store.reopenStaging(store.stagedBlobs()[0])
        try again.finalize(as: BlobVersion(image: id, generation: 1))
        #expect(store.stagedBlobs().isEmpty)
        #expect(store.blobIDs() == [id] && store.blobSize(id) == 6)
    }

    @Test("a reader serves its version's bytes, refuses another length, and stops being current when replaced")
    func readerByVersion() throws {
        let root = OtherFileSystemRoot()
        let store = BlobStore(root: root.path)
        let id = ImageRecord.newID()
        try Self.stage(store, id, Array("0123456789".utf8)).finalize(as: BlobVersion(image: id, generation: 3))

        let reader = try store.openReader(BlobVersion(image: id, generation: 3), expectedSize: 10)
        #expect(reader.size == 10 && reader.isCurrent())
        let tail = try reader.extent(at: 8, maxLength: 100)
        #expect(tail.offset == 8 && tail.length == 2)
        #expect(try reader.extent(at: 10, maxLength: 100).length == 0)
        let wrongLength = #expect(throws: GateError.self) {
            _ = try store.openReader(BlobVersion(image: id, generation: 3), expectedSize: 11)
        }
        #expect(wrongLength?.code == .io)
        let missing = #expect(throws: GateError.self) {
            _ = try store.openReader(BlobVersion(image: ImageRecord.newID(), generation: 1), expectedSize: 10)
        }
        #expect(missing?.code == .notFound)

        store.remove(id)
        #expect(!reader.isCurrent())
        #expect(try Self.read(reader) == Array("0123456789".utf8))  // an open reader finishes what it started
    }

    @Test("a reopened staging object continues after its bytes; names outside the staging directory are refused")
    func reopenStaging() throws {
        let root = OtherFileSystemRoot()
        let store = BlobStore(root: root.path)
        let id = ImageRecord.newID()
        let first = try Self.stage(store, id, Array("abc".utf8))
        first.close()
        let staged = try #require(store.stagedBlobs(of: id).first)
        let second = try store.reopenStaging(staged)
        try Array("def".utf8).withUnsafeBytes { try second.append($0) }
        var buf = [UInt8](repeating: 0, count: 16)
        let n = try buf.withUnsafeMutableBytes { try second.read(at: 0, into: $0) }
        #expect(Array(buf.prefix(n)) == Array("abcdef".utf8))
        try second.truncate(to: 4)
        try second.finalize(as: BlobVersion(image: id, generation: 1))
        #expect(store.blobSize(id) == 4)

        let outside = StagedBlob(image: id, name: root.path + "/blobs/" + id.description)
        #expect(throws: GateError.self) { _ = try store.reopenStaging(outside) }
    }
}
