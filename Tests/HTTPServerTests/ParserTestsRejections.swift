//===----------------------------------------------------------------------===//
// ImageGate: request-parser rejection table (Docs/protocols.md §2.2 raw inputs, smuggling vectors)
//===----------------------------------------------------------------------===//

import HTTPServer
import Testing

/// A POST head with `fields` inserted after Host, so Content-Length checks are not masked by the GET-body rule.
private func post(_ fields: String) -> String {
    "POST /upload HTTP/1.1\r\nHost: a\r\n\(fields)\r\n"
}

private func get(_ fields: String) -> String {
    "GET /a HTTP/1.1\r\nHost: a\r\n\(fields)\r\n"
}

private let framingCases: [RejectCase] = [
    RejectCase(
        "CL + TE", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    RejectCase("CL + TE on POST", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")),
    RejectCase("two different CL", post("Content-Length: 1000\r\nContent-Length: 100\r\n")),
    RejectCase("two equal CL", post("Content-Length: 42\r\nContent-Length: 42\r\n")),
    RejectCase("CL 1000,1000", post("Content-Length: 1000,1000\r\n")),
    RejectCase("CL 42, 42", post("Content-Length: 42, 42\r\n")),
    RejectCase("CL 1000 1000", post("Content-Length: 1000 1000\r\n")),
    RejectCase("CL 1000.1000", post("Content-Length: 1000.1000\r\n")),
    RejectCase("CL +5", post("Content-Length: +5\r\n")),
    RejectCase("CL -1", post("Content-Length: -1\r\n")),
    RejectCase("CL 2^64", post("Content-Length: 18446744073709551616\r\n")),
    RejectCase("CL 20 digits", post("Content-Length: 18446744073709551615\r\n")),
    RejectCase("CL with \\x11", post("Content-Length: 1000\u{11}\r\n")),
    RejectCase("CL empty", post("Content-Length:\r\n")),
    RejectCase("CL hex", post("Content-Length: 0x10\r\n")),
    RejectCase("CL space before colon", post("Content-Length : 5\r\n")),
    RejectCase("CL leading whitespace first field", "POST /a HTTP/1.1\r\n Content-Length: 5\r\nHost: a\r\n\r\n"),
    RejectCase("TE chunked", post("Transfer-Encoding: chunked\r\n")),
    RejectCase("TE identity", post("Transfer-Encoding: identity\r\n")),
    RejectCase("TE xchunked", post("Transfer-Encoding: xchunked\r\n")),
    RejectCase("TE chunked\\x11", post("Transfer-Encoding: chunked\u{11}\r\n")),
    RejectCase("two TE lines", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
    RejectCase("TE chunked,chunked", post("Transfer-Encoding: chunked,chunked\r\n")),
    RejectCase("TE space before colon", post("Transfer-Encoding : chunked\r\n")),
    RejectCase("TE tab-prefixed (obs-fold)", post("\tTransfer-Encoding: chunked\r\n")),
    RejectCase("TE tab-prefixed first field", "POST /a HTTP/1.1\r\n\tTransfer-Encoding: chunked\r\nHost: a\r\n\r\n"),
    RejectCase("TE chunked, identity", post("Transfer-Encoding: chunked, identity\r\n")),
    RejectCase("TE mixed case", post("transfer-ENCODING: chunked\r\n")),
    RejectCase("TE on HTTP/1.0", "POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
    RejectCase("GET with body", "GET /d/tok/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nGET "),
    RejectCase("HEAD with body", "HEAD /d/tok/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx"),
]

private let fieldCases: [RejectCase] = [
    RejectCase("CR in value", get("X: a\rContent-Length: 9\r\n")),
    RejectCase("LF in value then no colon", get("X: a\nb c\r\n")),
    RejectCase("LF in value then fold", get("X: a\n\tb\r\n")),
    RejectCase("NUL in value", get("X: a\u{0}b\r\n")),
    RejectCase("DEL in value", get("X: a\u{7F}b\r\n")),
    RejectCase("ESC in value", get("X: a\u{1B}b\r\n")),
    RejectCase("CR in name", get("X\r: a\r\n")),
    RejectCase("NUL in name", get("X\u{0}: a\r\n")),
    RejectCase("space in name", get("X Y: a\r\n")),
    RejectCase("empty name", get(": a\r\n")),
    RejectCase("no colon", get("NoColon\r\n")),
    RejectCase("obs-fold", get("X: a\r\n b\r\n")),
    RejectCase("obs-fold tab", get("X: a\r\n\tb\r\n")),
    RejectCase("non-ASCII name", bytes: Array("GET /a HTTP/1.1\r\nHost: a\r\nX\u{E9}: a\r\n\r\n".utf8)),
    RejectCase("bare CR as line end", "GET /a HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
    RejectCase("bare CR as empty line", "GET /a HTTP/1.1\r\nHost: a\r\n\rX"),
    RejectCase("no Host on 1.1", "GET /a HTTP/1.1\r\n\r\n"),
    RejectCase("two Host", "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    RejectCase("two Host on 1.0", "GET /a HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"),
    RejectCase("Host a b", "GET /a HTTP/1.1\r\nHost: a b\r\n\r\n"),
    RejectCase("Host empty", "GET /a HTTP/1.1\r\nHost:\r\n\r\n"),
    RejectCase("Host userinfo", "GET /a HTTP/1.1\r\nHost: u@h\r\n\r\n"),
    RejectCase("Host slash", "GET /a HTTP/1.1\r\nHost: h/x\r\n\r\n"),
    RejectCase("Host bad port", "GET /a HTTP/1.1\r\nHost: h:80x\r\n\r\n"),
    RejectCase("Host long port", "GET /a HTTP/1.1\r\nHost: h:123456\r\n\r\n"),
    RejectCase("Host empty port", "GET /a HTTP/1.1\r\nHost: h:\r\n\r\n"),
    RejectCase("Host open bracket", "GET /a HTTP/1.1\r\nHost: [::1\r\n\r\n"),
    RejectCase("Host bad pct", "GET /a HTTP/1.1\r\nHost: a%zz\r\n\r\n"),
    RejectCase("absolute-form still needs Host", "GET http://h/a HTTP/1.1\r\n\r\n"),
]

private let requestLineCases: [RejectCase] = [
    RejectCase("double space", "GET  /a HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("trailing space", "GET /a HTTP/1.1 \r\nHost: a\r\n\r\n"),
    RejectCase("tab after method", "GET\t/a HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("tab after target", "GET /a\tHTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("leading space", " GET /a HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("HTTP/0.9 simple request", "GET /a\r\n\r\n"),
    RejectCase("method only", "GET\r\n\r\n"),
    RejectCase("version HTTP/1.1x", "GET /a HTTP/1.1x\r\nHost: a\r\n\r\n"),
    RejectCase("version lowercase", "GET /a http/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("version HTTP/2", "GET /a HTTP/2\r\nHost: a\r\n\r\n"),
    RejectCase("version HTTP/1.10", "GET /a HTTP/1.10\r\nHost: a\r\n\r\n"),
    RejectCase("version HTTP/2.0", "GET /a HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    RejectCase("version HTTP/0.9", "GET /a HTTP/0.9\r\nHost: a\r\n\r\n", 505),
    RejectCase("version HTTP/3.0 no headers yet", "GET /a HTTP/3.0\r\n", 505),
    RejectCase("lowercase get", "get /a HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    RejectCase("unknown method", "FOO /a HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    RejectCase("unknown method before headers", "PROPFIND /a HTTP/1.1\r\n", 501),
    RejectCase("bad_method\\x01", "bad_method\u{1} / HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("method with slash", "GE/T /a HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
    RejectCase("ftp absolute-form", "GET ftp://h/a HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("empty authority", "GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("userinfo in target", "GET http://u:p@h/a HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("fragment in target", "GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("DEL in target", "GET /a\u{7F} HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("raw UTF-8 in target", "GET /caf\u{E9} HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("bare CR in request line", "GET /a HTTP/1.1\rHost: a\r\n\r\n"),
    RejectCase("two leading CRLF", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("three leading CRLF", "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("CRLF then LF", "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    RejectCase("leading bare CR", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
]

private let limitCases: [RejectCase] = [
    RejectCase("8193-byte request line", requestLine(length: 8193) + "\r\nHost: a\r\n\r\n", 414),
    RejectCase("8193-byte request line, no CRLF yet", requestLine(length: 8193), 414),
    RejectCase("9 KiB request line, no CRLF yet", requestLine(length: 9216), 414),
    RejectCase("9 KiB method run, no SP yet", String(repeating: "G", count: 9216), 414),
    RejectCase("101 fields", "GET /a HTTP/1.1\r\nHost: a\r\n" + fields(100) + "\r\n", 431),
    RejectCase("40 KiB header", "GET /a HTTP/1.1\r\nHost: a\r\nX: " + kib40 + "\r\n\r\n", 431),
    RejectCase("40 KiB header, no line end yet", "GET /a HTTP/1.1\r\nHost: a\r\nX: " + kib40, 431),
    RejectCase("many small fields over 32 KiB", "GET /a HTTP/1.1\r\nHost: a\r\n" + bigFields(), 431),
]

/// 40 KiB of value bytes.
private let kib40 = String(repeating: "v", count: 40960)

/// A request line `GET /aaa… HTTP/1.1` of exactly `length` octets (without CRLF).
func requestLine(length: Int) -> String {
    let fixed = "GET / HTTP/1.1".utf8.count
    return "GET /" + String(repeating: "a", count: length - fixed) + " HTTP/1.1"
}

/// `count` distinct `X-n: v` field lines.
func fields(_ count: Int) -> String {
    (0..<count).map { "X-\($0): v\r\n" }.joined()
}

/// 90 fields of 400 octets: under the count limit, over the byte limit, not yet terminated.
private func bigFields() -> String {
    (0..<90).map { "X-\($0): " + String(repeating: "v", count: 390) + "\r\n" }.joined()
}

@Suite("RequestParser rejections")
struct ParserRejectionTests {
    @Test("framing and smuggling vectors", arguments: framingCases)
    func framing(_ c: RejectCase) {
        #expect(parse(c.raw).status == c.status)
    }

    @Test("field line rules", arguments: fieldCases)
    func fieldLines(_ c: RejectCase) {
        #expect(parse(c.raw).status == c.status)
    }

    @Test("request line rules", arguments: requestLineCases)
    func requestLines(_ c: RejectCase) {
        #expect(parse(c.raw).status == c.status)
    }

    @Test("size limits", arguments: limitCases)
    func limits(_ c: RejectCase) {
        #expect(parse(c.raw).status == c.status)
    }

    @Test("a CTL in a value fails with LF-only line ends too")
    func lfOnly() {
        #expect(parse("GET /a HTTP/1.1\nHost: a\nX: \u{1}\n\n").status == 400)
    }

    @Test("reasons never echo request bytes", arguments: framingCases + fieldCases + requestLineCases)
    func reasonsAreFixed(_ c: RejectCase) {
        guard case .failure(let error) = parse(c.raw) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.reason.utf8.count < 60)
        #expect(error.reason.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
        #expect(!error.reason.contains("chunked"))
    }

    @Test("every prefix of a rejected head is needMore or the same failure", arguments: fieldCases + framingCases)
    func prefixesOfRejected(_ c: RejectCase) {
        let full = parse(c.raw).status
        for length in 0..<c.raw.count {
            let result = parse(Array(c.raw[0..<length]))
            #expect(result.isNeedMore || result.status == full, "prefix \(length)")
        }
    }
}
