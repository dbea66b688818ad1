//===----------------------------------------------------------------------===//
// ImageGate: single-object calls and listings against a real store (SeaweedFS in scripts/test.sh).
//===----------------------------------------------------------------------===//

import CryptoPrimitives
import Dispatch
import GateCore
import Synchronization
import TestSupport
import Testing

@testable import S3Client

@Suite(.enabled(if: TestObjectStore.available, TestStore.skipMessage))
struct S3ObjectIntegrationTests {
    @Test("put bytes, head, get whole and ranges, delete; then head and get say notFound")
    func putGetHeadDelete() throws {
        let client = TestStore.client()
        let key = TestStore.uniquePrefix(client, "object") + "blob with space+plus/é"
        let bytes = TestStore.randomBytes(100_000)
        let etag = try client.putObject(key: key, bytes: bytes, contentType: "application/octet-stream")
        let info = try client.headObject(key: key)
        #expect(info.size == 100_000 && info.etag == etag && info.lastModified != nil)

        let whole = try client.getObject(key: key)
        #expect(whole.bytes == bytes && whole.info.size == 100_000)
        let middle = try client.getObject(key: key, range: S3ByteRange(offset: 4_096, length: 10_000))
        #expect(middle.bytes == Array(bytes[4_096..<14_096]) && middle.info.size == 100_000)
        let tail = try client.getObject(key: key, range: S3ByteRange(first: 99_990))
        #expect(tail.bytes == Array(bytes[99_990...]))

        try client.deleteObject(key: key)
        try client.deleteObject(key: key)  // S3: deleting a missing key is not an error
        #expect { try client.headObject(key: key) } throws: { ($0 as? S3Error)?.kind == .notFound }
        #expect {
            try client.getObject(key: key)
        } throws: { e in
            guard let e = e as? S3Error else { return false }
            return e.kind == .notFound && e.s3Code == "NoSuchKey" && e.httpStatus == 404
                && e.gateError.code == .notFound
        }
    }

    @Test("a range of a descriptor goes up (hash signed or UNSIGNED-PAYLOAD) and a range comes down into a descriptor")
    func descriptors() throws {
        let client = TestStore.client()
        let prefix = TestStore.uniquePrefix(client, "fd")
        let source = TestStore.randomBytes(3 * 1024 * 1024 + 17)
        let file = TempFile(source)
        defer { file.close() }
        let slice = Array(source[1_000..<(1_000 + 2 * 1024 * 1024)])
        try client.putObject(
            key: prefix + "signed", descriptor: file.descriptor, offset: 1_000, length: UInt64(slice.count),
            payloadSHA256: Crypto.sha256(slice))
        try client.putObject(
            key: prefix + "unsigned", descriptor: file.descriptor, offset: 1_000, length: UInt64(slice.count))
        #expect(try client.getObject(key: prefix + "signed").bytes == slice)
        #expect(try client.getObject(key: prefix + "unsigned").bytes == slice)

        let target = TempFile([UInt8](repeating: 0xAA, count: 10))
        defer { target.close() }
        let result = try client.getObject(
            key: prefix + "signed", range: S3ByteRange(offset: 5, length: 1_000_000), into: target.descriptor, at: 10)
        #expect(result.bytesDelivered == 1_000_000 && result.info.size == UInt64(slice.count))
        #expect(target.contents() == [UInt8](repeating: 0xAA, count: 10) + Array(slice[5..<1_000_005]))
    }

    @Test("a sink that says stop cancels the download")
    func sinkStops() throws {
        let client = TestStore.client()
        let key = TestStore.uniquePrefix(client, "cancel") + "big"
        try client.putObject(key: key, bytes: TestStore.randomBytes(4 * 1024 * 1024))
        var seen = 0
        #expect {
            try client.getObject(key: key) { chunk in
                seen += chunk.count
                return seen < 100_000
            }
        } throws: { ($0 as? S3Error)?.kind == .cancelled }
        #expect(seen < 4 * 1024 * 1024)
    }

    @Test("ListObjectsV2 pages through a prefix in key order; listAllObjects follows the tokens")
    func listPaging() throws {
        let tally = RequestTally()
        let client = TestStore.client { $0.onRequest = tally.record }
        let prefix = TestStore.uniquePrefix(client, "list")
        let names = ["a", "b/1", "b/2", "c d", "e"]
        for (i, n) in names.enumerated() {
            try client.putObject(key: prefix + n, bytes: Array(repeating: UInt8(i), count: i))
        }
        var pages: [S3ListPage] = []
        var token: String?
        repeat {
            let page = try client.listObjectsV2(prefix: prefix, continuationToken: token, maxKeys: 2)
            pages.append(page)
            token = page.nextContinuationToken
            #expect(page.isTruncated == (token != nil))
        } while token != nil && pages.count < 10
        #expect(pages.map(\.objects.count) == [2, 2, 1])
        #expect(pages.flatMap(\.objects).map(\.key) == names.map { prefix + $0 })
        #expect(pages.flatMap(\.objects).map(\.size) == [0, 1, 2, 3, 4])
        let all = try client.listAllObjects(prefix: prefix, pageSize: 2)
        #expect(all.map(\.key) == names.map { prefix + $0 })
        #expect(try client.listObjectsV2(prefix: prefix + "zzz").objects.isEmpty)
        // The request hook saw every call, by operation.
        #expect(tally.byOperation[.putObject] == 5 && tally.byOperation[.listObjectsV2] == 7)
    }

    @Test("an empty object: put, head size 0, get returns nothing")
    func emptyObject() throws {
        let client = TestStore.client()
        let key = TestStore.uniquePrefix(client, "empty") + "zero"
        try client.putObject(key: key, bytes: [])
        #expect(try client.headObject(key: key).size == 0)
        let back = try client.getObject(key: key)
        #expect(back.bytes.isEmpty && back.info.size == 0)
    }

    @Test("one client, eight threads at once: each gets its own handle and its own bytes back")
    func concurrentCalls() throws {
        let tally = RequestTally()
        let client = TestStore.client {
            $0.onRequest = tally.record
            $0.maxIdleHandles = 4  // fewer idle handles than threads: some are made and dropped
        }
        let prefix = TestStore.uniquePrefix(client, "threads")
        let results = Mutex<[Int: Bool]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let bytes = TestStore.randomBytes(200_000 + i)
            let ok: Bool
            do {
                try client.putObject(key: prefix + "\(i)", bytes: bytes)
                let back = try client.getObject(
                    key: prefix + "\(i)", range: S3ByteRange(offset: UInt64(i), length: 1000))
                ok = back.bytes == Array(bytes[i..<(i + 1000)])
            } catch {
                ok = false
            }
            results.withLock { $0[i] = ok }
        }
        #expect(results.withLock { $0 } == Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, true) }))
        #expect(tally.byOperation == [.putObject: 8, .getObject: 8])
        #expect(try client.listAllObjects(prefix: prefix).count == 8)
    }
}
