//===----------------------------------------------------------------------===//
// ImageGate: the read cache behind the real HTTP server, with curl as the client and SeaweedFS as the store:
// parallel requests for one cold slice are one GET, bytes are identical, a store that is down is a 503.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import Foundation
import GateCore
import HTTPServer
import S3Client
import Synchronization
import SystemIO
import Testing
import TestSupport

@testable import SliceCache

/// Serves one object through a cache: `/whole`, or `/part/<offset>/<length>`.
struct CachedObjectHandler: RequestHandler {
    let cache: SliceCache
    let object: SlicedObject

    func respond(to request: Request) -> Response {
        let reader = cache.reader(for: object)
        let parts = request.head.path.split(separator: "/")
        if parts.count == 3, parts[0] == "part", let offset = UInt64(parts[1]), let length = UInt64(parts[2]) {
            return Response(status: 200, body: [.file(offset: offset, length: length)], file: reader)
        }
        return Response(status: 200, body: [.file(offset: 0, length: object.size)], file: reader)
    }
    func loggablePath(_ path: String) -> String { path }
}

/// Runs curl and returns its exit status.
func curl(_ arguments: [String]) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = arguments
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

@Suite(
    .enabled(
        if: TestObjectStore.available && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"),
        "IMAGEGATE_TEST_S3_* unset (or no curl): run scripts/test.sh"))
struct SliceCacheHTTPTests {
    @Test("curl: 50 parallel requests for one cold slice are one GET to the store; a whole download is byte-identical")
    func curlThroughTheCache() throws {
        let gets = Mutex(0)
        let client = try SliceTestStore.client { r in if r.operation == .getObject { gets.withLock { $0 += 1 } } }
        let sliceBytes: UInt64 = 256 * 1024
        let bytes = Crypto.randomBytes(Int(sliceBytes) * 3 + 5000)
        let key = client.location.key("http-\(UInt64.random(in: 0...UInt64.max))")
        _ = try client.putObject(key: key, bytes: bytes)
        defer { try? client.deleteObject(key: key) }
        let object = SlicedObject(
            key: key, size: UInt64(bytes.count), sliceBytes: sliceBytes,
            sliceSHA256: stride(from: 0, to: bytes.count, by: Int(sliceBytes)).map { start in
                CountingSource.hex(Crypto.sha256(Array(bytes[start..<min(bytes.count, start + Int(sliceBytes))])))
            })
        let dir = try TemporaryDirectory(prefix: "slicecache-http")
        let cache = try SliceCache(
            directory: dir.path + "/cache", maxBytes: 16 * sliceBytes, source: StoreSliceSource(client: client),
            sliceBytes: sliceBytes, logger: Logger(minimum: .error))
        var config = HTTPServerConfig()
        config.loops = 2
        let server = try HTTPListener.start(
            address: ListenAddress(host: "127.0.0.1", port: 0), config: config,
            handler: CachedObjectHandler(cache: cache, object: object), accessLog: nil, logger: Logger(minimum: .error))
        defer { server.stop() }

        // 50 transfers at once, each a different 4 KiB inside slice 1.
        var arguments = ["-sf", "--parallel", "--parallel-immediate", "--parallel-max", "50"]
        for i in 0..<50 {
            let offset = Int(sliceBytes) + i * 4096
            arguments += ["-o", dir.file("p\(i)"), "http://127.0.0.1:\(server.port)/part/\(offset)/4096"]
        }
        #expect(try curl(arguments) == 0)
        for i in 0..<50 {
            let offset = Int(sliceBytes) + i * 4096
            let got = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("p\(i)"))))
            #expect(got == Array(bytes[offset..<offset + 4096]), "part \(i)")
        }
        #expect(gets.withLock { $0 } == 1)

        #expect(try curl(["-sf", "-o", dir.file("whole"), "http://127.0.0.1:\(server.port)/whole"]) == 0)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("whole")))) == bytes)
        #expect(gets.withLock { $0 } == 4)
        // Warm: nothing more from the store.
        #expect(try curl(["-sf", "-o", dir.file("again"), "http://127.0.0.1:\(server.port)/whole"]) == 0)
        #expect(gets.withLock { $0 } == 4)
    }

    @Test("curl: a store that does not answer is a 503 with Retry-After, not a short 200")
    func storeDown() throws {
        // A port nothing listens on: the store refuses every connection.
        let closed = try Socket.listen(ListenAddress(host: "127.0.0.1", port: 0))
        let port = Socket.localPort(closed)
        close(closed)
        let location = try S3Location(
            "s3://imagegate-test/x?endpoint=http://127.0.0.1:\(port)&region=us-east-1&path_style=true")
        let client = S3Client(
            location: location, credentials: try S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "x"))
        let object = SlicedObject(
            key: "x/images/a/1", size: 1000, sliceBytes: 1 << 20, sliceSHA256: [String(repeating: "0", count: 64)])
        let dir = try TemporaryDirectory(prefix: "slicecache-http")
        let cache = try SliceCache(
            directory: dir.path, maxBytes: 4 << 20, source: StoreSliceSource(client: client), sliceBytes: 1 << 20,
            logger: Logger(minimum: .error))
        var config = HTTPServerConfig()
        config.loops = 1
        let server = try HTTPListener.start(
            address: ListenAddress(host: "127.0.0.1", port: 0), config: config,
            handler: CachedObjectHandler(cache: cache, object: object), accessLog: nil, logger: Logger(minimum: .error))
        defer { server.stop() }
        let headers = dir.file("headers")
        #expect(try curl(["-s", "-D", headers, "-o", dir.file("body"), "http://127.0.0.1:\(server.port)/whole"]) == 0)
        let text = try String(contentsOfFile: headers, encoding: .utf8)
        #expect(text.hasPrefix("HTTP/1.1 503 "))
        #expect(text.contains("Retry-After: 5"))
        #expect(cache.cachedSlices == 0)
    }
}
