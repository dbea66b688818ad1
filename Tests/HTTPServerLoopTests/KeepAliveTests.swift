//===----------------------------------------------------------------------===//
// ImageGate: the connection's request/response cycle: pipelining, HEAD, Connection: close, bad requests.
//===----------------------------------------------------------------------===//
import HTTPServer
import Testing
import TestSupport

@Suite struct KeepAliveTests {
    /// Answers every request with its own method and path, so a response shows which request it belongs to.
    static let echo = ScriptedHandler { request in
        Response.text(200, "\(request.head.method) \(request.head.path)")
    }

    @Test("pipelined requests in one write are answered in order on the same connection")
    func pipelined() throws {
        let loop = try LoopHarness(handler: Self.echo)
        defer { loop.stop() }
        let client = try loop.connect()
        try client.send(RawRequest.get("/one").bytes + RawRequest.head("/two").bytes + RawRequest.get("/three").bytes)
        let one = try client.readResponse()
        let two = try client.readResponse(isHead: true)
        let three = try client.readResponse()
        #expect(one.text == "GET /one\n")
        // HEAD: the length of the body GET would get, and no body (else /three would not parse).
        #expect(two.status == 200)
        #expect(two.header("Content-Length") == String("HEAD /two\n".utf8.count))
        #expect(three.text == "GET /three\n")
        #expect(!client.ended)
        for path in ["/one", "/two", "/three"] {
            #expect(try loop.accessLog.nextJSON()["path"] as? String == path)
        }
    }

    @Test("Connection: close is answered with Connection: close, then the server ends the connection")
    func connectionClose() throws {
        let loop = try LoopHarness(handler: Self.echo)
        defer { loop.stop() }
        let client = try loop.connect()
        let r = try client.exchange(RawRequest.get("/bye").with("Connection", "close"))
        #expect(r.header("Connection")?.lowercased() == "close")
        #expect(r.text == "GET /bye\n")
        #expect(try client.readToEnd().isEmpty)
        #expect(client.ended)
    }

    @Test("a keep-alive connection stays open after a response and serves the next request")
    func keepAlive() throws {
        let loop = try LoopHarness(handler: Self.echo)
        defer { loop.stop() }
        let client = try loop.connect()
        #expect(try client.exchange(.get("/a")).text == "GET /a\n")
        #expect(try client.exchange(.get("/b")).text == "GET /b\n")
        #expect(try client.readAvailable(max: 1).isEmpty)
        #expect(!client.ended)
    }

    @Test("a request after a malformed one is never read: 400, Connection: close, end of connection")
    func badRequestCloses() throws {
        let loop = try LoopHarness(handler: Self.echo)
        defer { loop.stop() }
        let client = try loop.connect()
        try client.send(Array("GET /x HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n".utf8) + RawRequest.get("/next").bytes)
        let r = try client.readResponse()
        #expect(r.status == 400)
        #expect(r.header("Connection")?.lowercased() == "close")
        #expect(try client.readToEnd().isEmpty)
        #expect(try loop.accessLog.nextJSON()["outcome"] as? String == "bad_request")
    }

    @Test("a GET with a body is refused and the connection closed (request smuggling)")
    func getWithBody() throws {
        let loop = try LoopHarness(handler: Self.echo)
        defer { loop.stop() }
        let client = try loop.connect()
        let r = try client.exchange(RawRequest("GET", "/x", body: Array("abc".utf8)))
        #expect(r.status == 400)
        #expect(try client.readToEnd().isEmpty)
    }

    @Test("a half-closed client still gets the answer to its complete request")
    func halfClose() throws {
        let loop = try LoopHarness(handler: Self.echo)
        defer { loop.stop() }
        let client = try loop.connect()
        try client.send(.get("/last"))
        client.shutdownWrite()
        #expect(try client.readResponse().text == "GET /last\n")
        #expect(try client.readToEnd().isEmpty)
    }
}
