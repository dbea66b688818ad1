//===----------------------------------------------------------------------===//
// ImageGate: request-parser positive cases, real client requests, pipelining and incremental feeding
//===----------------------------------------------------------------------===//

import HTTPServer
import Testing

/// Requests shaped like those the CLI clients send (Docs/protocols.md §1.3), plus edge cases the parser must accept.
private let acceptCases: [AcceptCase] = [
    AcceptCase(
        "wget -c",
        "GET /d/tok/img.qcow2 HTTP/1.1\r\nRange: bytes=1048576-\r\nUser-Agent: Wget/1.21.3\r\nAccept: */*\r\n"
            + "Accept-Encoding: identity\r\nHost: gw.example:8443\r\nConnection: Keep-Alive\r\n\r\n",
        path: "/d/tok/img.qcow2"),
    AcceptCase(
        "curl -C -",
        "GET /d/tok/img.qcow2 HTTP/1.1\r\nHost: gw.example\r\nRange: bytes=100-\r\nUser-Agent: curl/7.88.1\r\n"
            + "Accept: */*\r\n\r\n",
        path: "/d/tok/img.qcow2"),
    AcceptCase(
        "aria2c segment",
        "GET /d/tok/img.iso HTTP/1.1\r\nUser-Agent: aria2/1.36.0\r\nAccept: */*\r\nHost: gw.example\r\n"
            + "Pragma: no-cache\r\nCache-Control: no-cache\r\nRange: bytes=20971520-\r\n"
            + "Want-Digest: SHA-512;q=1, SHA-256;q=1, SHA;q=0.1\r\n\r\n",
        path: "/d/tok/img.iso"),
    AcceptCase(
        "lftp HEAD",
        "HEAD /d/tok/img.raw HTTP/1.1\r\nHost: gw.example\r\nUser-Agent: lftp/4.9.2\r\nAccept: */*\r\n"
            + "Connection: keep-alive\r\n\r\n",
        method: "HEAD", path: "/d/tok/img.raw"),
    AcceptCase(
        "lftp pget chunk",
        "GET /d/tok/img.raw HTTP/1.1\r\nHost: gw.example\r\nUser-Agent: lftp/4.9.2\r\nAccept: */*\r\n"
            + "Range: bytes=0-1048575\r\nConnection: keep-alive\r\n\r\n",
        path: "/d/tok/img.raw"),
    AcceptCase(
        "curl upload with Expect",
        "PUT /i/img-1/upload HTTP/1.1\r\nHost: gw\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n"
            + "Content-Length: 5000000\r\nExpect: 100-continue\r\n\r\n",
        method: "PUT", path: "/i/img-1/upload"),
    AcceptCase("HTTP/1.0 without Host", "GET /a HTTP/1.0\r\n\r\n", path: "/a"),
    AcceptCase("one leading CRLF", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", path: "/"),
    AcceptCase("one leading LF", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", path: "/"),
    AcceptCase("bare LF line ends", "GET /a HTTP/1.1\nHost: a\nX: b\n\n", path: "/a"),
    AcceptCase("mixed line ends", "GET /a HTTP/1.1\r\nHost: a\nX: b\r\n\n", path: "/a"),
    AcceptCase("query", "GET /a?b=1&c HTTP/1.1\r\nHost: a\r\n\r\n", path: "/a", query: "b=1&c"),
    AcceptCase("empty query", "GET /a? HTTP/1.1\r\nHost: a\r\n\r\n", path: "/a", query: ""),
    AcceptCase(
        "absolute-form", "GET http://evil.example/d/tok/x HTTP/1.1\r\nHost: gw\r\n\r\n", path: "/d/tok/x"),
    AcceptCase("absolute-form upper-case scheme", "GET HTTP://evil.example HTTP/1.1\r\nHost: gw\r\n\r\n", path: "/"),
    AcceptCase(
        "absolute-form https with port and query", "GET https://h:8443/a?b=c HTTP/1.1\r\nHost: gw\r\n\r\n",
        path: "/a", query: "b=c"),
    AcceptCase("absolute-form query only", "GET http://h?x HTTP/1.1\r\nHost: gw\r\n\r\n", path: "/", query: "x"),
    AcceptCase("absolute-form IPv6", "GET http://[::1]:8080/a HTTP/1.1\r\nHost: gw\r\n\r\n", path: "/a"),
    AcceptCase("Host IPv6 with port", "GET /a HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n", path: "/a"),
    AcceptCase("Host IPv4", "GET /a HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n", path: "/a"),
    AcceptCase("Host IDN", "GET /a HTTP/1.1\r\nHost: xn--caf-dma.example:80\r\n\r\n", path: "/a"),
    AcceptCase("GET with Content-Length 0", "GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", path: "/a"),
    AcceptCase(
        "POST with 19-digit Content-Length",
        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n", method: "POST", path: "/a"),
    AcceptCase(
        "obs-text value",
        bytes: Array("GET /a HTTP/1.1\r\nHost: a\r\nX-Name: caf".utf8) + [0xC3, 0xA9, 0x20, 0xFF]
            + Array("\r\n\r\n".utf8),
        path: "/a"),
    AcceptCase("empty value", "GET /a HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n", path: "/a"),
    AcceptCase("encoded path kept encoded", "GET /d/tok/a%20b HTTP/1.1\r\nHost: a\r\n\r\n", path: "/d/tok/a%20b"),
    AcceptCase("every known method", "OPTIONS /a HTTP/1.1\r\nHost: a\r\n\r\n", method: "OPTIONS", path: "/a"),
    AcceptCase(
        "8192-byte request line", requestLine(length: 8192) + "\r\nHost: a\r\n\r\n",
        path: "/" + String(repeating: "a", count: 8192 - 14)),
    AcceptCase("100 fields", "GET /a HTTP/1.1\r\nHost: a\r\n" + fields(99) + "\r\n", path: "/a"),
]

@Suite("RequestParser accepts")
struct ParserAcceptTests {
    @Test("valid requests parse", arguments: acceptCases)
    func accepts(_ c: AcceptCase) throws {
        let result = parse(c.raw)
        let head = try #require(result.head, "\(result)")
        #expect(head.method == c.method)
        #expect(head.path == c.path)
        #expect(head.query == c.query)
        #expect(result.consumed == c.raw.count)
    }

    @Test("every strict prefix of a valid request is needMore", arguments: acceptCases)
    func incremental(_ c: AcceptCase) {
        for length in 0..<c.raw.count {
            let result = parse(Array(c.raw[0..<length]))
            #expect(result.isNeedMore, "prefix \(length): \(result)")
        }
    }

    @Test("fields: lowercased names, OWS-trimmed values, order kept")
    func fieldValues() throws {
        let raw = "GET /a HTTP/1.1\r\nHost:  gw \r\nX-Multi:\t one \t\r\nx-multi: two\r\nACCEPT: */*\r\n\r\n"
        let head = try #require(parse(raw).head)
        #expect(head.headers.map(\.name) == ["host", "x-multi", "x-multi", "accept"])
        #expect(head.headers.map(\.value) == ["gw", "one", "two", "*/*"])
        #expect(head.header("x-multi") == "one")
        #expect(head.headers("x-multi") == ["one", "two"])
        #expect(head.header("range") == nil)
        #expect(head.target == "/a")
        #expect(head.version == .http11)
        #expect(head.contentLength == 0)
    }

    @Test("absolute-form keeps the raw target and ignores Host")
    func absoluteForm() throws {
        let head = try #require(parse("GET http://evil.example/d/tok/x HTTP/1.1\r\nHost: gw\r\n\r\n").head)
        #expect(head.target == "http://evil.example/d/tok/x")
        #expect(head.path == "/d/tok/x")
        #expect(head.header("host") == "gw")
    }

    @Test("Content-Length is parsed and body bytes are not consumed")
    func contentLength() throws {
        let raw = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0005\r\n\r\nhello"
        let result = parse(raw)
        let head = try #require(result.head)
        #expect(head.contentLength == 5)
        #expect(result.consumed == raw.utf8.count - 5)
    }

    @Test("two pipelined requests: the first parse consumes only the first head")
    func pipelining() throws {
        let first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
        let second = "HEAD /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        let bytes = Array((first + second).utf8)
        let r1 = parse(bytes)
        #expect(r1.head?.path == "/one")
        #expect(r1.consumed == first.utf8.count)
        let rest = Array(bytes[try #require(r1.consumed)...])
        let r2 = parse(rest)
        #expect(r2.head?.path == "/two")
        #expect(r2.head?.method == "HEAD")
        #expect(r2.head?.keepAlive == false)
        #expect(r2.consumed == second.utf8.count)
    }

    @Test("a pipelined request after a POST body is left in the buffer")
    func pipeliningAfterBody() throws {
        let raw = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: a\r\n\r\n"
        let bytes = Array(raw.utf8)
        let r1 = parse(bytes)
        let consumed = try #require(r1.consumed)
        let next = consumed + Int(try #require(r1.head).contentLength)
        #expect(parse(Array(bytes[next...])).head?.path == "/b")
    }

    @Test("custom limits are honoured")
    func customLimits() {
        var limits = ParseLimits()
        limits.maxRequestLine = 20
        limits.maxHeaderCount = 2
        limits.maxHeaderBytes = 64
        #expect(parse("GET /aaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n", limits: limits).status == 414)
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\nA: b\r\nC: d\r\n\r\n", limits: limits).status == 431)
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\nA: b\r\n\r\n", limits: limits).head != nil)
        #expect(parse("GET / HTTP/1.1\r\nHost: " + String(repeating: "a", count: 60), limits: limits).status == 431)
        limits.allowBodyOnGetOrHead = true
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n", limits: limits).head != nil)
    }
}
