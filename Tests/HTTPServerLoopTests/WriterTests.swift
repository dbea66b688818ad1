//===----------------------------------------------------------------------===//
// ImageGate: the response writer under real socket pressure: partial writes, a stalled client, a file that
// shrinks under a response, a client that leaves.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import HTTPServer
import SystemIO
import Testing
import TestSupport

@Suite struct WriterTests {
    /// A file of seeded bytes, served whole at any path.
    final class FileFixture {
        let dir: TemporaryDirectory
        let path: String
        let bytes: [UInt8]

        init(size: Int, seed: UInt64) throws {
            dir = try TemporaryDirectory(prefix: "writer")
            var random = SeededRandom(seed: seed)
            bytes = random.bytes(size)
            path = try dir.write("blob", bytes)
        }

        var handler: ScriptedHandler {
            let path = self.path
            return ScriptedHandler { _ in
                guard let file = try? PathBlobReader(path: path) else { return Response.text(500, "cannot open") }
                return Response(status: 200, body: [.file(offset: 0, length: file.size)], file: file)
            }
        }
    }

    /// Smallest send buffer the kernel allows (it doubles the value and keeps at least 4608 bytes).
    static let tinyBuffer: Int32 = 2048

    @Test("a body many times the socket buffer arrives whole through partial sendfile writes")
    func partialWrites() throws {
        let f = try FileFixture(size: 1 << 20, seed: 1)
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        let client = try loop.connect(serverSendBuffer: Self.tinyBuffer)
        let r = try client.exchange(.get("/blob"))
        #expect(r.status == 200)
        #expect(r.header("Content-Length") == String(1 << 20))
        #expect(byteDifference(r.body, f.bytes) == nil)
        let line = try loop.accessLog.nextJSON()
        #expect(line["outcome"] as? String == "ok")
        #expect(line["bytes"] as? Int == 1 << 20)
    }

    @Test("a response head larger than the socket buffer is written in parts")
    func partialHead() throws {
        let big = String(repeating: "h", count: 40_000)
        let loop = try LoopHarness(
            handler: ScriptedHandler { _ in
                Response(status: 200, headers: [("X-Big", big)], body: [.bytes(Array("tail".utf8))])
            })
        defer { loop.stop() }
        let client = try loop.connect(serverSendBuffer: Self.tinyBuffer)
        let r = try client.exchange(.get("/"))
        #expect(r.status == 200)
        #expect(r.header("X-Big") == big)
        #expect(r.text == "tail")
    }

    @Test("a client that stops reading holds the response back; it completes when the client reads again")
    func stalledClientResumes() throws {
        let f = try FileFixture(size: 1 << 20, seed: 2)
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        let client = try loop.connect(serverSendBuffer: Self.tinyBuffer)
        try client.send(.get("/blob"))
        // The server fills the socket and then gets EAGAIN: the client holds a few KiB, not the megabyte.
        try waitUntil("the first response bytes") { client.queuedInbound >= 2048 }
        #expect(client.queuedInbound < 1 << 20)
        // Not finished: the access line is written only when the last byte is taken by the socket.
        #expect(!loop.accessLog.hasLine)
        let r = try client.readResponse()
        #expect(r.status == 200)
        #expect(byteDifference(r.body, f.bytes) == nil)
        let line = try loop.accessLog.nextJSON()
        #expect(line["outcome"] as? String == "ok")
        #expect(line["bytes"] as? Int == 1 << 20)
    }

    @Test("a file truncated under a response: sendfile returns 0, the connection ends short, the log says truncated")
    func truncatedFile() throws {
        let f = try FileFixture(size: 1 << 20, seed: 3)
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        let client = try loop.connect(serverSendBuffer: Self.tinyBuffer)
        try client.send(.get("/blob"))
        // The writer is mid-body and blocked on the full socket when the file loses its bytes.
        try waitUntil("the first response bytes") { client.queuedInbound >= 2048 }
        #expect(truncate(f.path, 0) == 0)
        let received = try client.readToEnd()
        let headEnd = try #require(Self.headLength(received))
        let body = Array(received[headEnd...])
        #expect(String(decoding: received[0..<headEnd], as: UTF8.self).contains("Content-Length: \(1 << 20)"))
        #expect(body.count < 1 << 20)
        #expect(byteDifference(body, Array(f.bytes.prefix(body.count))) == nil)
        let line = try loop.accessLog.nextJSON()
        #expect(line["status"] as? Int == 200)
        #expect(line["outcome"] as? String == "truncated")
        #expect(line["bytes"] as? Int == body.count)
        #expect(try loop.diagnostics.nextLine().contains("file truncated while sending"))
    }

    @Test("sendfile returning 0 before the promised length (through the syscall seam): cut, never padded")
    func sendfileReturningZeroCutsTheConnection() throws {
        let f = try FileFixture(size: 1 << 20, seed: 6)
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        let client = try loop.connect(serverSendBuffer: Self.tinyBuffer)
        // The file stays whole: only the second sendfile on this connection says "end of file" (the first sends
        // the first bytes). Without the writer's truncation branch the third call would send the rest.
        let (received, hits) = try SyscallFaults.inject([
            SyscallFault(.sendfile, .returnZero, scope: .descriptor(loop.lastServerFD), skip: 1)
        ]) {
            try client.send(.get("/blob"))
            return try client.readToEnd()
        }
        #expect(hits == [1])
        let headEnd = try #require(Self.headLength(received))
        let body = Array(received[headEnd...])
        #expect(String(decoding: received[0..<headEnd], as: UTF8.self).contains("Content-Length: \(1 << 20)"))
        #expect(body.count > 0)
        #expect(body.count < 1 << 20)
        #expect(byteDifference(body, Array(f.bytes.prefix(body.count))) == nil)
        let line = try loop.accessLog.nextJSON()
        #expect(line["outcome"] as? String == "truncated")
        #expect(line["bytes"] as? Int == body.count)
        #expect(try loop.diagnostics.nextLine().contains("file truncated while sending"))
    }

    @Test("a client that closes mid-response is logged as client_abort and its connection is released")
    func clientAbort() throws {
        let f = try FileFixture(size: 1 << 20, seed: 4)
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        var client: ClientSocket? = try loop.connect(serverSendBuffer: Self.tinyBuffer)
        try client!.send(.get("/blob"))
        try waitUntil("the first response bytes") { client!.queuedInbound >= 2048 }
        client = nil  // closes the socket with unread bytes
        let line = try loop.accessLog.nextJSON()
        #expect(line["outcome"] as? String == "client_abort")
        #expect((line["bytes"] as? Int ?? 1 << 20) < 1 << 20)
    }

    @Test("a turn budget smaller than the body: the writer yields between turns and the body still arrives whole")
    func yieldsBetweenTurns() throws {
        let f = try FileFixture(size: 1 << 20, seed: 5)
        var config = HTTPServerConfig()
        config.writeChunkBytes = 64 * 1024
        let loop = try LoopHarness(handler: f.handler, config: config)
        defer { loop.stop() }
        let a = try loop.connect()
        let b = try loop.connect()
        try a.send(.get("/one"))
        try b.send(.get("/two"))
        #expect(byteDifference(try a.readResponse().body, f.bytes) == nil)
        #expect(byteDifference(try b.readResponse().body, f.bytes) == nil)
    }

    /// Length of the response head in `bytes` (through CRLF CRLF).
    static func headLength(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }
}
