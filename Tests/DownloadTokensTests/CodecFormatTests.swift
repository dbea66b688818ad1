//===----------------------------------------------------------------------===//
// ImageGate: igt1 layout, round trip and tamper tests (Docs/protocols.md §3.2, §3.7).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import Testing
@testable import DownloadTokens

@Suite struct CodecFormatTests {
    @Test func roundTrip() {
        for ip in [nil, IPPrefix(cidr: "203.0.113.0/24"), IPPrefix(cidr: "2001:db8::/32")] {
            let c = Fixture.claims(protocols: [.http, .sftp, .ftps], ip: ip)
            let token = Fixture.token(c)
            #expect(token.utf8.count == TokenCodec.tokenLength)
            #expect(token.utf8.count == 173)
            #expect(token.hasPrefix("igt1."))
            let peer: [UInt8] =
                ip?.family == .v6 ? [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 12) : [203, 0, 113, 9]
            #expect(Fixture.verify(token, protocol: .sftp, peer: peer) == .success(c))
            // Substring input works the same.
            let wrapped = "/d/" + token + "/x.qcow2"
            let sub = wrapped.split(separator: "/")[1]
            #expect(
                Fixture.codec.verify(
                    sub, keyring: Fixture.keyring, now: Fixture.now, maxLifetime: Fixture.maxLifetime,
                    protocol: .http, peer: peer) == .success(c))
        }
    }

    /// Pins the byte layout of Docs/protocols.md §3.2 field by field.
    @Test func payloadLayout() {
        let c = Fixture.claims(
            iat: 0x0102_0304_0506_0708, exp: 0x0102_0304_0506_0709, protocols: [.http, .httpPlain],
            ip: IPPrefix(cidr: "203.0.113.0/24"))
        let p = Fixture.payload(of: Fixture.token(c))
        #expect(p.count == 93)
        #expect(p[0] == 1)
        #expect(Array(p[1..<5]) == [1, 2, 3, 4])
        #expect(Array(p[5..<21]) == Fixture.tenant.raw.bytes)
        #expect(Array(p[21..<37]) == Fixture.image.raw.bytes)
        #expect(Array(p[37..<41]) == [0, 0, 0, 7])
        #expect(Array(p[41..<57]) == Fixture.serial.bytes)
        #expect(Array(p[57..<65]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Array(p[65..<73]) == [1, 2, 3, 4, 5, 6, 7, 9])
        #expect(Array(p[73..<75]) == [0, 0x11])
        #expect(p[75] == 4)
        #expect(Array(p[76..<92]) == [203, 0, 113, 0] + [UInt8](repeating: 0, count: 12))
        #expect(p[92] == 24)
    }

    /// The tag, recomputed here from the written-down formula rather than from the codec.
    @Test func tagFormula() {
        let token = Fixture.token()
        let parts = token.split(separator: ".")
        let k = Crypto.hkdfSHA256(secret: Fixture.secret, salt: [], info: Array("image-gateway download token v1".utf8))
        let mac = Crypto.hmacSHA256(
            key: k, message: Array("igt1".utf8) + [0] + Fixture.deployment + Fixture.payload(of: token))
        #expect(String(parts[2]) == Base64URL.encode(mac))
    }

    /// A frozen token: any change to layout, derivation or MAC input breaks it (and every issued token).
    @Test func goldenToken() {
        let golden = Golden.token
        #expect(Fixture.token(Fixture.claims(iat: 1_799_999_990)) == golden)
        #expect(Fixture.verify(golden).claims == Fixture.claims(iat: 1_799_999_990))
    }

    @Test func everyPayloadByteFlipIsRejected() {
        let token = Fixture.token()
        let parts = token.split(separator: ".")
        let payload = Fixture.payload(of: token)
        for i in payload.indices {
            var p = payload
            p[i] ^= 0x01
            let forged = "igt1." + Base64URL.encode(p) + "." + parts[2]
            // Bytes 1-4 are the kid: the lookup fails before the MAC is computed.
            let expected: TokenRejection = (1...4).contains(i) ? .unknownKey : .badSignature
            #expect(Fixture.verify(forged).rejection == expected, "byte \(i)")
        }
    }

    @Test func everyTagBitFlipIsRejected() {
        let token = Fixture.token()
        let parts = token.split(separator: ".")
        let tag = Base64URL.decode(Array(parts[2].utf8))!
        for bit in 0..<256 {
            var t = tag
            t[bit / 8] ^= UInt8(1 << (bit % 8))
            let forged = "igt1." + parts[1] + "." + Base64URL.encode(t)
            #expect(Fixture.verify(forged).rejection == .badSignature, "bit \(bit)")
        }
    }

    @Test func otherDeploymentIsBadSignature() {
        let foreign = TokenCodec(deploymentID: Fixture.otherDeployment).mint(Fixture.claims(), key: Fixture.key)
        #expect(Fixture.verify(foreign).rejection == .badSignature)
    }

    @Test func sameKidOtherSecretIsBadSignature() {
        let impostor = SigningKey(
            kid: Fixture.key.kid, secret: [UInt8](repeating: 9, count: 32), state: .active, createdAt: 0)
        #expect(Fixture.verify(Fixture.token(key: impostor)).rejection == .badSignature)
    }

    @Test func mintUsesTheSigningKeysKid() {
        var c = Fixture.claims()
        c.kid = 0xffff_ffff
        #expect(Fixture.verify(Fixture.token(c)).claims?.kid == Fixture.key.kid)
    }

    struct RawCase: Sendable, CustomTestStringConvertible {
        let name: String
        let edit: @Sendable (inout [UInt8]) -> Void
        let expected: TokenRejection
        var testDescription: String { name }
    }

    /// Authentic (correctly signed) payloads with invalid fields: only reachable via a raw-payload signer.
    static let rawCases: [RawCase] = [
        RawCase(name: "ver 0", edit: { $0[0] = 0 }, expected: .badVersion),
        RawCase(name: "ver 2", edit: { $0[0] = 2 }, expected: .badVersion),
        RawCase(name: "perms bit 5", edit: { $0[74] |= 0x20 }, expected: .reservedBits),
        RawCase(name: "perms bit 15", edit: { $0[73] |= 0x80 }, expected: .reservedBits),
        RawCase(name: "ipfam 5", edit: { $0[75] = 5 }, expected: .malformed),
        RawCase(name: "ipfam 0 with address", edit: { $0[76] = 1 }, expected: .malformed),
        RawCase(name: "ipfam 0 with length", edit: { $0[92] = 8 }, expected: .malformed),
        RawCase(
            name: "v4 length 33",
            edit: {
                $0[75] = 4
                $0[92] = 33
            }, expected: .malformed),
        RawCase(
            name: "v6 length 129",
            edit: {
                $0[75] = 6
                $0[92] = 129
            }, expected: .malformed),
        RawCase(
            name: "v4 host bits",
            edit: {
                $0[75] = 4
                $0[76] = 10
                $0[79] = 1
                $0[92] = 8
            }, expected: .malformed),
        RawCase(
            name: "v4 bytes past 4",
            edit: {
                $0[75] = 4
                $0[76] = 10
                $0[85] = 1
                $0[92] = 8
            }, expected: .malformed),
        RawCase(
            name: "v4 /8 canonical",
            edit: {
                $0[75] = 4
                $0[76] = 10
                $0[92] = 8
            }, expected: .addressNotAllowed),
    ]

    @Test(arguments: rawCases) func authenticButInvalidPayload(_ c: RawCase) {
        var p = Fixture.payload(of: Fixture.token())
        c.edit(&p)
        #expect(Fixture.verify(Fixture.signed(p), peer: [192, 0, 2, 1]).rejection == c.expected)
    }
}

/// Cross-checked with Python's hmac/hashlib (HKDF written out per RFC 5869) when it was frozen.
enum Golden {
    static let token =
        "igt1.AQECAwQRERERERERESIiIiIiIiIiMzMzMzMzMzNERERERERERAAAAAferb7vAAAAAQEjRWeJq83vAAAAAGtJ0fYAAAAAa0sjdgABAAAAAAAAAAAAAAAAAAAAAAAA"
        + ".78Ka-yzRqMpwqEZewxuNI2AsUmVrGCgNNjah4JD_3hU"
}
