//===----------------------------------------------------------------------===//
// ImageGate: multipart uploads against a real store: create, parts, complete, abort, list.
//===----------------------------------------------------------------------===//

import CryptoPrimitives
import TestSupport
import Testing

@testable import S3Client

@Suite(.enabled(if: TestObjectStore.available, TestStore.skipMessage))
struct S3MultipartIntegrationTests {
    @Test("create, upload two parts (memory and descriptor), list it open, complete, read it back; gone from the list")
    func complete() throws {
        let tally = RequestTally()
        let client = TestStore.client { $0.onRequest = tally.record }
        let prefix = TestStore.uniquePrefix(client, "mpu")
        let key = prefix + "image"
        let first = TestStore.randomBytes(5 * 1024 * 1024)  // S3's minimum for every part but the last
        let second = TestStore.randomBytes(123_457)
        let id = try client.createMultipartUpload(key: key)
        let etag1 = try client.uploadPart(key: key, uploadID: id, partNumber: 1, bytes: first)
        let file = TempFile([9, 9, 9] + second)
        defer { file.close() }
        let etag2 = try client.uploadPart(
            key: key, uploadID: id, partNumber: 2, descriptor: file.descriptor, offset: 3, length: UInt64(second.count))
        #expect(!etag1.isEmpty && !etag2.isEmpty && etag1 != etag2)
        #expect(try client.listAllMultipartUploads(prefix: prefix).map(\.uploadID) == [id])
        #expect { try client.headObject(key: key) } throws: { ($0 as? S3Error)?.kind == .notFound }

        // Parts given out of order are sorted (S3 requires ascending part numbers).
        try client.completeMultipartUpload(
            key: key, uploadID: id,
            parts: [S3CompletedPart(partNumber: 2, etag: etag2), S3CompletedPart(partNumber: 1, etag: etag1)])
        let back = try client.getObject(key: key)
        #expect(back.bytes.count == first.count + second.count)
        #expect(back.bytes == first + second)
        let acrossParts = try client.getObject(
            key: key, range: S3ByteRange(offset: UInt64(first.count) - 10, length: 20))
        #expect(acrossParts.bytes == Array((first + second)[(first.count - 10)..<(first.count + 10)]))
        #expect(try client.listAllMultipartUploads(prefix: prefix).isEmpty)
        #expect(tally.byOperation[.uploadPart] == 2 && tally.byOperation[.completeMultipartUpload] == 1)
    }

    @Test("abort drops an upload: not listed, nothing under the key, its parts cannot be completed")
    func abort() throws {
        let client = TestStore.client()
        let prefix = TestStore.uniquePrefix(client, "abort")
        let key = prefix + "image"
        let id = try client.createMultipartUpload(key: key)
        let other = try client.createMultipartUpload(key: prefix + "other")
        let etag = try client.uploadPart(key: key, uploadID: id, partNumber: 1, bytes: TestStore.randomBytes(1_000))
        #expect(Set(try client.listAllMultipartUploads(prefix: prefix).map(\.uploadID)) == [id, other])
        try client.abortMultipartUpload(key: key, uploadID: id)
        #expect(try client.listAllMultipartUploads(prefix: prefix).map(\.uploadID) == [other])
        #expect { try client.headObject(key: key) } throws: { ($0 as? S3Error)?.kind == .notFound }
        #expect {
            try client.completeMultipartUpload(
                key: key, uploadID: id, parts: [S3CompletedPart(partNumber: 1, etag: etag)])
        } throws: { ($0 as? S3Error)?.kind == .notFound }
        try client.abortMultipartUpload(key: prefix + "other", uploadID: other)
        #expect(try client.listAllMultipartUploads(prefix: prefix).isEmpty)
    }
}
