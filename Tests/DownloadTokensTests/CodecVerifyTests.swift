//===----------------------------------------------------------------------===//
// ImageGate: verification order tests: structure, keys, time, protocol, IP (Docs/protocols.md §3.3, §3.7).
//===----------------------------------------------------------------------===//
import GateCore
import Testing
@testable import DownloadTokens

/// A token-text transformation and the rejection it must produce.
struct TextCase: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable (String) -> String
    var testDescription: String { name }
}

@Suite struct CodecVerifyTests {
    static func parts(_ t: String) -> (payload: String, tag: String) {
        let p = t.split(separator: ".", omittingEmptySubsequences: false)
        return (String(p[1]), String(p[2]))
    }

    /// Step 1: every one of these is `malformed`, before any key is looked at.
    static let malformedCases: [TextCase] = [
        TextCase(name: "empty") { _ in "" },
        TextCase(name: "prefix only") { _ in "igt1." },
        TextCase(name: "two dots, empty parts") { _ in "igt1.." },
        TextCase(name: "empty tag") { "igt1." + parts($0).payload + "." },
        TextCase(name: "empty payload") { "igt1.." + parts($0).tag },
        TextCase(name: "no tag part") { "igt1." + parts($0).payload },
        TextCase(name: "igt0 prefix") { "igt0" + $0.dropFirst(4) },
        TextCase(name: "igt9 prefix") { "igt9" + $0.dropFirst(4) },
        TextCase(name: "upper-case prefix") { "IGT1" + $0.dropFirst(4) },
        TextCase(name: "no prefix") { String($0.dropFirst(5)) },
        TextCase(name: "tag truncated to 42") { String($0.dropLast()) },
        TextCase(name: "tag truncated to 40") { String($0.dropLast(3)) },
        TextCase(name: "tag with = padding") { $0 + "=" },
        TextCase(name: "payload with == padding") { "igt1." + parts($0).payload + "==." + parts($0).tag },
        TextCase(name: "tag with extra char") { $0 + "A" },
        TextCase(name: "trailing dot") { $0 + "." },
        TextCase(name: "double dot") { "igt1." + parts($0).payload + ".." + parts($0).tag },
        TextCase(name: "dot inside payload") {
            "igt1." + parts($0).payload.prefix(60) + "." + parts($0).payload.dropFirst(60) + "." + parts($0).tag
        },
        TextCase(name: "three parts after prefix") { $0 + ".AAAA" },
        TextCase(name: "payload one char short") { "igt1." + parts($0).payload.dropLast() + "." + parts($0).tag },
        TextCase(name: "standard base64 +") { "igt1.+" + parts($0).payload.dropFirst() + "." + parts($0).tag },
        TextCase(name: "standard base64 /") { "igt1." + parts($0).payload + "." + "/" + parts($0).tag.dropFirst() },
        TextCase(name: "non-canonical tag trailing bits") { t in
            // 43 chars carry 258 bits; the last char's two low bits are unused and must be 0.
            let tag = Array(parts(t).tag.utf8)
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
            let v = alphabet.firstIndex(of: tag[42])!
            let bent = tag.dropLast() + [alphabet[v | 1]]
            return "igt1." + parts(t).payload + "." + String(decoding: bent, as: UTF8.self)
        },
        TextCase(name: "trailing newline") { $0 + "\n" },
        TextCase(name: "leading space") { " " + $0 },
        TextCase(name: "non-ASCII in tag") { String($0.dropLast()) + "é" },
        TextCase(name: "257 chars") { $0 + String(repeating: "A", count: 257 - $0.utf8.count) },
        TextCase(name: "10 kB") { $0 + String(repeating: "A", count: 10_000) },
        TextCase(name: "NUL byte") { String($0.dropLast()) + "\u{0}" },
    ]

    @Test(arguments: malformedCases) func malformed(_ c: TextCase) {
        let bad = c.make(Fixture.token())
        #expect(Fixture.verify(bad).rejection == .malformed)
        // Redaction must not choke on it either, and must not reveal a tag.
        #expect(!TokenRedaction.redact(bad).contains(Self.parts(Fixture.token()).tag.prefix(6)))
    }

    // MARK: Step 2: keys

    @Test func unknownKid() {
        let stranger = SigningKey.generate(kid: 0x0a0b_0c0d, now: Fixture.now)
        #expect(Fixture.verify(Fixture.token(key: stranger)).rejection == .unknownKey)
    }

    @Test func verifyOnlyKeyStillVerifies() {
        var old = Fixture.key
        old.state = .verifyOnly
        old.verifyUntil = Fixture.now + 100
        let ring = try! Keyring(keys: [SigningKey.generate(kid: 99, now: Fixture.now), old])
        #expect(Fixture.verify(Fixture.token(), keyring: ring).claims != nil)
        // Retired: past verifyUntil it is as unknown as a kid never seen.
        #expect(Fixture.verify(Fixture.token(), keyring: ring, now: Fixture.now + 101).rejection == .unknownKey)
        #expect(Fixture.verify(Fixture.token(), keyring: ring, now: Fixture.now + 100).claims != nil)
    }

    // MARK: Step 5: time

    struct TimeCase: Sendable, CustomTestStringConvertible {
        let name: String
        let iat: Int64
        let exp: Int64
        let expected: TokenRejection?
        var testDescription: String { name }
    }

    static let n = Fixture.now
    static let timeCases: [TimeCase] = [
        TimeCase(name: "fresh", iat: n - 10, exp: n + 3600, expected: nil),
        TimeCase(name: "exp = now-61", iat: n - 3600, exp: n - 61, expected: .expired),
        TimeCase(name: "exp = now-60 (edge of leeway)", iat: n - 3600, exp: n - 60, expected: nil),
        TimeCase(name: "exp = now-30 (leeway)", iat: n - 3600, exp: n - 30, expected: nil),
        TimeCase(name: "iat = now+600", iat: n + 600, exp: n + 3600, expected: .notYetValid),
        TimeCase(name: "iat = now+301", iat: n + 301, exp: n + 3600, expected: .notYetValid),
        TimeCase(name: "iat = now+300 (skew)", iat: n + 300, exp: n + 3600, expected: nil),
        TimeCase(name: "lifetime = max", iat: n - 10, exp: n - 10 + Fixture.maxLifetime, expected: nil),
        TimeCase(name: "lifetime = max+1", iat: n - 10, exp: n - 9 + Fixture.maxLifetime, expected: .lifetimeTooLong),
        TimeCase(name: "exp before iat", iat: n - 10, exp: n - 20, expected: .lifetimeTooLong),
        TimeCase(name: "iat min, exp max (no overflow trap)", iat: .min, exp: .max, expected: .lifetimeTooLong),
        TimeCase(name: "exp max", iat: n, exp: .max, expected: .lifetimeTooLong),
        TimeCase(name: "iat max", iat: .max, exp: .max, expected: .notYetValid),
        TimeCase(name: "exp min", iat: .min, exp: .min, expected: .expired),
    ]

    @Test(arguments: timeCases) func time(_ c: TimeCase) {
        let result = Fixture.verify(Fixture.token(Fixture.claims(iat: c.iat, exp: c.exp)))
        #expect(result.rejection == c.expected)
    }

    // MARK: Step 6: protocol

    struct ProtocolCase: Sendable, CustomTestStringConvertible {
        let token: ProtocolSet
        let required: ProtocolSet
        let ok: Bool
        var testDescription: String { "token \(token) used as \(required)" }
    }

    static let protocolCases: [ProtocolCase] = [
        ProtocolCase(token: .http, required: .http, ok: true),
        ProtocolCase(token: .http, required: .sftp, ok: false),
        ProtocolCase(token: .http, required: .ftps, ok: false),
        ProtocolCase(token: .http, required: [.http, .httpPlain], ok: false),
        ProtocolCase(token: [.http, .httpPlain], required: [.http, .httpPlain], ok: true),
        ProtocolCase(token: .httpPlain, required: [.http, .httpPlain], ok: false),
        ProtocolCase(token: .ftps, required: .ftpPlain, ok: false),
        ProtocolCase(token: [.ftps, .ftpPlain], required: .ftpPlain, ok: true),
        ProtocolCase(token: .sftp, required: .sftp, ok: true),
        ProtocolCase(token: .all, required: .sftp, ok: true),
        ProtocolCase(token: .all, required: [], ok: false),
        ProtocolCase(token: [], required: .http, ok: false),
    ]

    @Test(arguments: protocolCases) func protocols(_ c: ProtocolCase) {
        let result = Fixture.verify(Fixture.token(Fixture.claims(protocols: c.token)), protocol: c.required)
        #expect(result.rejection == (c.ok ? nil : .protocolNotAllowed))
    }

    // MARK: Step 9: IP binding

    struct IPCase: Sendable, CustomTestStringConvertible {
        let prefix: String
        let peer: [UInt8]?
        let ok: Bool
        var testDescription: String { "\(prefix) vs \(peer.map { "\($0)" } ?? "unknown")" }
    }

    static let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
    static let ipCases: [IPCase] = [
        IPCase(prefix: "203.0.113.0/24", peer: [198, 51, 100, 7], ok: false),
        IPCase(prefix: "203.0.113.0/24", peer: [203, 0, 113, 5], ok: true),
        IPCase(prefix: "203.0.113.0/24", peer: nil, ok: false),
        IPCase(prefix: "203.0.113.0/24", peer: mapped + [203, 0, 113, 5], ok: true),
        IPCase(prefix: "203.0.113.0/24", peer: mapped + [198, 51, 100, 7], ok: false),
        IPCase(prefix: "203.0.113.0/24", peer: [UInt8](repeating: 0, count: 12) + [203, 0, 113, 5], ok: false),
        IPCase(prefix: "203.0.113.7", peer: [203, 0, 113, 7], ok: true),
        IPCase(prefix: "203.0.113.7", peer: [203, 0, 113, 8], ok: false),
        IPCase(prefix: "0.0.0.0/0", peer: [1, 2, 3, 4], ok: true),
        IPCase(prefix: "2001:db8::/32", peer: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 1, count: 12), ok: true),
        IPCase(prefix: "2001:db8::/32", peer: [0x20, 0x01, 0x0d, 0xb9] + [UInt8](repeating: 0, count: 12), ok: false),
        IPCase(prefix: "2001:db8::/32", peer: [203, 0, 113, 5], ok: false),
        IPCase(prefix: "203.0.113.0/24", peer: [203, 0, 113], ok: false),
    ]

    @Test(arguments: ipCases) func ipBinding(_ c: IPCase) {
        let token = Fixture.token(Fixture.claims(ip: IPPrefix(cidr: c.prefix)!))
        #expect(Fixture.verify(token, peer: c.peer).rejection == (c.ok ? nil : .addressNotAllowed))
    }

    /// Docs/protocols.md §3.3 order: an expired token from an unknown key reports the key, a bad-MAC token with bad
    /// times reports the MAC; time is checked before protocol, protocol before address.
    @Test func orderOfChecks() {
        let stranger = SigningKey.generate(kid: 0x0a0b_0c0d, now: Fixture.now)
        let expired = Fixture.claims(
            iat: Fixture.now - 9000, exp: Fixture.now - 8000, protocols: .sftp,
            ip: IPPrefix(cidr: "10.0.0.0/8"))
        #expect(Fixture.verify(Fixture.token(expired, key: stranger)).rejection == .unknownKey)
        #expect(
            Fixture.verify(Fixture.token(expired), codec: TokenCodec(deploymentID: Fixture.otherDeployment)).rejection
                == .badSignature)
        #expect(Fixture.verify(Fixture.token(expired)).rejection == .expired)
        let wrongBoth = Fixture.claims(protocols: .sftp, ip: IPPrefix(cidr: "10.0.0.0/8"))
        #expect(Fixture.verify(Fixture.token(wrongBoth), peer: [1, 1, 1, 1]).rejection == .protocolNotAllowed)
    }

    /// The claims of a refused but authentic token (for telling its holder why and auditing the refusal), and
    /// nothing for a token whose MAC does not verify.
    @Test func authenticClaimsOnlyAfterTheMAC() {
        let expired = Fixture.claims(iat: Fixture.now - 9000, exp: Fixture.now - 8000, ip: IPPrefix(cidr: "10.0.0.0/8"))
        let token = Fixture.token(expired)
        #expect(
            Fixture.codec.authenticClaims(token, keyring: Fixture.keyring, now: Fixture.now)?.serial == Fixture.serial)
        let stranger = SigningKey.generate(kid: 0x0a0b_0c0d, now: Fixture.now)
        #expect(
            Fixture.codec.authenticClaims(
                Fixture.token(expired, key: stranger), keyring: Fixture.keyring,
                now: Fixture.now) == nil)
        let other = TokenCodec(deploymentID: Fixture.otherDeployment)
        #expect(other.authenticClaims(token, keyring: Fixture.keyring, now: Fixture.now) == nil)
        var tampered = Array(token.utf8)
        tampered[20] = tampered[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(
            Fixture.codec.authenticClaims(
                String(decoding: tampered, as: UTF8.self), keyring: Fixture.keyring,
                now: Fixture.now) == nil)
    }
}
