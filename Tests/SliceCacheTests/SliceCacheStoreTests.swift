//===----------------------------------------------------------------------===//
// ImageGate: the read cache against a real object store (SeaweedFS in scripts/test.sh) through S3Client.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import GateCore
import S3Client
import Synchronization
import SystemIO
import Testing
import TestSupport

@testable import SliceCache

/// A SliceSource over S3Client's ranged GET streamed to the cache: what the S3 blob store's source does.
struct StoreSliceSource: SliceSource {
    let client: S3Client

    func fetchRange(
        key: String, offset: UInt64, length: UInt64, deliver: (UnsafeRawBufferPointer) -> Bool
    ) throws(GateError) {
        do {
            let got = try withoutActuallyEscaping(deliver) { sink in
                try client.getObject(key: key, range: S3ByteRange(offset: offset, length: length), sink: sink)
            }
            guard got.bytesDelivered == length else {
                throw GateError.io("object store sent \(got.bytesDelivered) of \(length) bytes")
            }
        } catch let e as S3Error {
            throw e.gateError
        } catch {
            throw error as! GateError
        }
    }
}

enum SliceTestStore {

    /// A client whose every finished request goes to `onRequest`.
    static func client(onRequest: @escaping @Sendable (S3RequestRecord) -> Void) throws -> S3Client {
        let location = try S3Location(
            "s3://\(TestObjectStore.bucket!)/slicecache?endpoint=\(TestObjectStore.endpoint!)&region=\(TestObjectStore.region)&path_style=true"
        )
        var c = S3Client.Configuration()
        c.onRequest = onRequest
        return S3Client(
            location: location,
            credentials: try S3Credentials(accessKeyID: TestObjectStore.key!, secretAccessKey: TestObjectStore.secret!),
            configuration: c)
    }
}

@Suite(
    .enabled(
        if: TestObjectStore.available,
        "IMAGEGATE_TEST_S3_* unset: run scripts/test.sh, or source the env of scripts/seaweedfs.sh start DIR"))
struct SliceCacheStoreTests {
    @Test(
        "an object put with S3Client reads back byte-identical through the cache: one GET per slice, 20 readers of a cold slice share one"
    )
    func throughSeaweedFS() throws {
        let gets = Mutex<[Int?]>([])
        let client = try SliceTestStore.client { r in
            if r.operation == .getObject { gets.withLock { $0.append(r.status) } }
        }
        let sliceBytes: UInt64 = 256 * 1024
        let bytes = Crypto.randomBytes(Int(sliceBytes) * 3 + 1000)
        let key = client.location.key("obj-\(UInt64.random(in: 0...UInt64.max))")
        _ = try client.putObject(key: key, bytes: bytes)
        defer { try? client.deleteObject(key: key) }
        var digests: [String] = []
        for start in stride(from: 0, to: bytes.count, by: Int(sliceBytes)) {
            let slice = Array(bytes[start..<min(bytes.count, start + Int(sliceBytes))])
            digests.append(
                Crypto.sha256(slice).map { b in String(b >> 4, radix: 16) + String(b & 0xF, radix: 16) }.joined())
        }
        let object = SlicedObject(key: key, size: UInt64(bytes.count), sliceBytes: sliceBytes, sliceSHA256: digests)
        let dir = try TemporaryDirectory(prefix: "slicecache-s3")
        let cache = try SliceCache(
            directory: dir.path, maxBytes: 16 * sliceBytes, source: StoreSliceSource(client: client),
            sliceBytes: sliceBytes)

        // 20 readers of one cold slice at once: the store sees one GET (single flight).
        let results = Mutex<[[UInt8]]>([])
        var threads: [OSThread] = []
        for _ in 0..<20 {
            threads.append(
                OSThread.spawn(name: "reader") {
                    let got = (try? readThrough(cache.reader(for: object), offset: sliceBytes + 7, length: 1000)) ?? []
                    results.withLock { $0.append(got) }
                })
        }
        for t in threads { t.join() }
        #expect(
            results.withLock {
                $0.count == 20 && $0.allSatisfy { $0 == Array(bytes[Int(sliceBytes) + 7..<Int(sliceBytes) + 1007]) }
            })
        #expect(gets.withLock { $0 } == [206])

        // The whole object: the three other slices come from the store, once each.
        #expect(try readThrough(cache.reader(for: object)) == bytes)
        #expect(gets.withLock { $0.count } == 4)
        #expect(try readThrough(cache.reader(for: object)) == bytes)
        #expect(gets.withLock { $0.count } == 4)
        #expect(cache.cachedBytes == UInt64(bytes.count))
    }

    @Test("a missing object is an error and nothing is cached")
    func missingObject() throws {
        let client = try SliceTestStore.client { _ in }
        let dir = try TemporaryDirectory(prefix: "slicecache-s3")
        let cache = try SliceCache(
            directory: dir.path, maxBytes: 1 << 22, source: StoreSliceSource(client: client), sliceBytes: 1 << 20)
        let object = SlicedObject(
            key: client.location.key("missing-\(UInt64.random(in: 0...UInt64.max))"), size: 10, sliceBytes: 1 << 20,
            sliceSHA256: [String(repeating: "0", count: 64)])
        #expect {
            try readThrough(cache.reader(for: object))
        } throws: { ($0 as? GateError)?.code == .notFound }
        #expect(cache.cachedSlices == 0)
    }
}
