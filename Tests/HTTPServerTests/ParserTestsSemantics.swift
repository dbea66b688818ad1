//===----------------------------------------------------------------------===//
// ImageGate: keep-alive, Expect and byte-class tests for the request parser
//===----------------------------------------------------------------------===//

@testable import HTTPServer
import Testing

/// (version, Connection field values, expected keepAlive).
struct KeepAliveCase: Sendable, CustomTestStringConvertible {
    var version: String
    var connection: [String]
    var keepAlive: Bool

    var testDescription: String { "\(version) \(connection) → \(keepAlive)" }
}

private let keepAliveCases: [KeepAliveCase] = [
    KeepAliveCase(version: "HTTP/1.1", connection: [], keepAlive: true),
    KeepAliveCase(version: "HTTP/1.1", connection: ["close"], keepAlive: false),
    KeepAliveCase(version: "HTTP/1.1", connection: ["Close"], keepAlive: false),
    KeepAliveCase(version: "HTTP/1.1", connection: ["keep-alive"], keepAlive: true),
    KeepAliveCase(version: "HTTP/1.1", connection: ["Keep-Alive"], keepAlive: true),
    KeepAliveCase(version: "HTTP/1.1", connection: ["keep-alive, close"], keepAlive: false),
    KeepAliveCase(version: "HTTP/1.1", connection: ["Upgrade ,\tCLOSE "], keepAlive: false),
    KeepAliveCase(version: "HTTP/1.1", connection: ["keep-alive", "close"], keepAlive: false),
    KeepAliveCase(version: "HTTP/1.1", connection: ["closed"], keepAlive: true),
    KeepAliveCase(version: "HTTP/1.1", connection: ["te, upgrade"], keepAlive: true),
    KeepAliveCase(version: "HTTP/1.0", connection: [], keepAlive: false),
    KeepAliveCase(version: "HTTP/1.0", connection: ["keep-alive"], keepAlive: true),
    KeepAliveCase(version: "HTTP/1.0", connection: ["Keep-Alive"], keepAlive: true),
    KeepAliveCase(version: "HTTP/1.0", connection: ["TE, keep-alive"], keepAlive: true),
    KeepAliveCase(version: "HTTP/1.0", connection: ["keep-alive, close"], keepAlive: false),
    KeepAliveCase(version: "HTTP/1.0", connection: ["close"], keepAlive: false),
    KeepAliveCase(version: "HTTP/1.0", connection: ["keep-alives"], keepAlive: false),
    KeepAliveCase(version: "HTTP/1.0", connection: [",,keep-alive,,"], keepAlive: true),
]

@Suite("RequestParser semantics")
struct ParserSemanticsTests {
    @Test("keep-alive truth table", arguments: keepAliveCases)
    func keepAlive(_ c: KeepAliveCase) throws {
        let fields = c.connection.map { "Connection: \($0)\r\n" }.joined()
        let head = try #require(parse("GET /a \(c.version)\r\nHost: a\r\n\(fields)\r\n").head)
        #expect(head.keepAlive == c.keepAlive)
        #expect(head.version == (c.version == "HTTP/1.1" ? .http11 : .http10))
    }

    @Test(
        "Expect: 100-continue only on HTTP/1.1",
        arguments: [
            ("HTTP/1.1", "Expect: 100-continue\r\n", true),
            ("HTTP/1.1", "Expect: 100-Continue\r\n", true),
            ("HTTP/1.1", "Expect: 100-CONTINUE \r\n", true),
            ("HTTP/1.1", "", false),
            ("HTTP/1.1", "Expect: something-else\r\n", false),
            ("HTTP/1.0", "Expect: 100-continue\r\n", false),
        ])
    func expectContinue(version: String, field: String, expected: Bool) throws {
        let raw = "PUT /u \(version)\r\nHost: a\r\nContent-Length: 10\r\n\(field)\r\n"
        let head = try #require(parse(raw).head)
        #expect(head.expectsContinue == expected)
    }

    @Test("tchar bitmap matches RFC 9110 §5.6.2")
    func tcharTable() {
        let specials = Set("!#$%&'*+-.^_`|~".utf8)
        for b in 0...255 {
            let byte = UInt8(b)
            let expected = ASCII.isAlpha(byte) && byte < 128 || ASCII.isDigit(byte) || specials.contains(byte)
            #expect(ASCII.isTchar(byte) == expected, "byte \(b)")
        }
    }

    @Test("all nine known methods pass, others are 501")
    func methods() {
        for m in ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] {
            #expect(parse("\(m) /a HTTP/1.1\r\nHost: a\r\n\r\n").head?.method == m)
        }
        for m in ["GETS", "Get", "MKCOL", "PRI", "X"] {
            #expect(parse("\(m) /a HTTP/1.1\r\nHost: a\r\n\r\n").status == 501)
        }
    }

    @Test("error ordering: 400 syntax before 505 before 501")
    func errorOrdering() {
        #expect(parse("FOO * HTTP/2.0\r\n").status == 400)
        #expect(parse("FOO /a HTTP/2.0\r\n").status == 505)
        #expect(parse("FOO /a HTTP/1.1\r\n").status == 501)
        #expect(parse("FOO /a HTTP/1.1x\r\n").status == 400)
    }
}
