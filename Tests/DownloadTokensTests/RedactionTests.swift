//===----------------------------------------------------------------------===//
// ImageGate: token redaction and IP prefix parsing.
//===----------------------------------------------------------------------===//
import GateCore
import Testing
@testable import DownloadTokens

@Suite struct RedactionTests {
    @Test func validTokenShowsKidAndSerialHeadOnly() {
        let token = Fixture.token()
        #expect(TokenRedaction.redact(token) == "igt1.01020304.deadbeef…")
    }

    @Test func neverContainsTagOrFullSerial() {
        for _ in 0..<200 {
            let c = Fixture.claims(serial: TokenClaims.randomSerial())
            let token = Fixture.token(c)
            let tag = String(token.split(separator: ".")[2])
            let label = TokenRedaction.redact(token[...])
            #expect(label.utf8.count <= 26)
            #expect(!label.contains(c.serial.hex))
            for start in 0...(tag.count - 6) {
                let piece = tag.dropFirst(start).prefix(6)
                #expect(!label.contains(piece))
            }
        }
    }

    @Test(arguments: [
        ("igt1.garbage", "igt1.?…"),
        ("igt1." + String(repeating: "A", count: 300), "igt1.?…"),
        ("Bearer abc", "<redacted>"),
        ("", "<redacted>"),
        ("igt0.abc.def", "<redacted>"),
    ])
    func malformedInputs(_ input: String, _ expected: String) {
        #expect(TokenRedaction.redact(input) == expected)
    }

    @Test(arguments: [
        ("203.0.113.0/24", "203.0.113.0/24"),
        ("203.0.113.5/24", "203.0.113.0/24"),
        ("10.1.2.3", "10.1.2.3/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("2001:db8::1/32", "2001:db8::/32"),
        ("::ffff:203.0.113.5/128", "::ffff:203.0.113.5/128"),
        ("2001:db8::/0", "::/0"),
    ])
    func cidrParsing(_ text: String, _ canonical: String) {
        #expect(IPPrefix(cidr: text)?.description == canonical)
    }

    @Test(arguments: [
        "", "/24", "203.0.113.0/33", "203.0.113.0/024", "203.0.113.0/-1", "203.0.113.0/+8",
        "203.0.113/24", "010.0.0.1/8", "203.0.113.0/24/1", "2001:db8::/129", "host.example/8", "1.2.3.4/",
    ])
    func cidrRejects(_ text: String) {
        #expect(IPPrefix(cidr: text) == nil)
    }
}
