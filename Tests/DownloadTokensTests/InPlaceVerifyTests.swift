//===----------------------------------------------------------------------===//
// ImageGate: the in-place MAC check (stack buffers, no arrays) gives the verdicts of the step-by-step reference.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import Testing
@testable import DownloadTokens

@Suite struct InPlaceVerifyTests {
    static let verifyOnly = SigningKey(
        kid: 0x0A0B_0C0D, secret: [UInt8](repeating: 0x42, count: 32), state: .verifyOnly,
        createdAt: Fixture.now - 5000, verifyUntil: Fixture.now + 100)
    static let ring = try! Keyring(keys: [Fixture.key, verifyOnly])

    /// Steps 1-3 as they read before the in-place path: copying split, key lookup by copy, one-shot HMAC over the
    /// joined input, array comparison.
    static func reference(_ token: String, keyring: Keyring = ring, now: Int64 = Fixture.now) -> TokenRejection? {
        guard let parts = TokenCodec.splitCopying(token) else { return .malformed }
        guard let key = keyring.key(TokenPayload.kid(parts.payload), now: now) else { return .unknownKey }
        let input = Array("igt1".utf8) + [0] + Fixture.deployment + parts.payload
        guard Crypto.hmacSHA256(key: key.tokenKey, message: input) == parts.tag else { return .badSignature }
        return nil
    }

    static func inPlace(_ token: String, keyring: Keyring = ring, now: Int64 = Fixture.now) -> TokenRejection? {
        switch Fixture.codec.authenticPayload(token[...], keyring: keyring, now: now) {
        case .failure(let r): return r
        case .success(let payload):
            #expect(payload == TokenCodec.splitCopying(token)?.payload)
            return nil
        }
    }

    @Test("every one-character change of tokens signed by the active and a verify-only key")
    func everyCharacterChange() {
        for key in [Fixture.key, Self.verifyOnly] {
            let token = Fixture.token(key: key)
            #expect(Self.reference(token) == nil)
            #expect(Self.inPlace(token) == nil)
            let bytes = Array(token.utf8)
            for i in bytes.indices {
                for c in Array("AB_-.=".utf8) where c != bytes[i] {
                    var t = bytes
                    t[i] = c
                    let text = String(decoding: t, as: UTF8.self)
                    #expect(Self.inPlace(text) == Self.reference(text), "position \(i) byte \(c)")
                }
            }
        }
    }

    @Test("a forged tag is badSignature; an unknown or expired key is unknownKey, before any MAC")
    func forgedAndUnknown() {
        let token = Fixture.token()
        let tag = token.suffix(43)
        let forged = String(token.dropLast(43)) + (tag.first == "B" ? "C" : "B") + String(tag.dropFirst())
        #expect(Self.inPlace(forged) == .badSignature)
        // The same tag under another deployment id: the MAC input differs.
        let other = TokenCodec(deploymentID: Fixture.otherDeployment)
        if case .failure(let r) = other.authenticPayload(token, keyring: Self.ring, now: Fixture.now) {
            #expect(r == .badSignature)
        } else {
            Issue.record("accepted under another deployment id")
        }
        let signedByRetired = Fixture.token(key: Self.verifyOnly)
        #expect(Self.inPlace(signedByRetired, now: Fixture.now + 101) == .unknownKey)
        #expect(Self.inPlace(signedByRetired, keyring: Fixture.keyring) == .unknownKey)
    }

    @Test("the Substring and the generic entry points give the same verdicts")
    func entryPoints() {
        let token = Fixture.token()
        let path = "/d/" + token + "/x.iso"
        let slice = path.dropFirst(3).prefix(token.utf8.count)
        let viaSlice = Fixture.codec.verify(
            slice, keyring: Self.ring, now: Fixture.now, maxLifetime: Fixture.maxLifetime, protocol: .http, peer: nil)
        #expect(viaSlice.claims == Fixture.verify(token).claims)
        #expect(viaSlice.claims != nil)
        let forged: Substring = (String(path.dropFirst(3).prefix(token.utf8.count - 1)) + "A")[...]
        let forgedVerdict = Fixture.codec.verify(
            forged, keyring: Self.ring, now: Fixture.now, maxLifetime: Fixture.maxLifetime, protocol: .http, peer: nil)
        #expect(forgedVerdict.rejection == Self.reference(String(forged)))
    }

    @Test("verify hands out the claims of an authentic token it refuses, and none of a forged or malformed one")
    func authenticClaimsOfARefusal() {
        let expired = Fixture.claims(iat: Fixture.now - 10_000, exp: Fixture.now - 1000)
        let cases: [(String, TokenRejection, TokenClaims?)] = [
            (Fixture.token(expired), .expired, expired),
            (Fixture.token(Fixture.claims(protocols: .sftp)), .protocolNotAllowed, Fixture.claims(protocols: .sftp)),
            // The tag's last character carries two bits (A, Q, g or w): another of them is a wrong MAC.
            (String(Fixture.token().dropLast()) + (Fixture.token().last == "A" ? "Q" : "A"), .badSignature, nil),
            (Fixture.token() + "A", .malformed, nil),
        ]
        for (token, rejection, claims) in cases {
            var authentic: TokenClaims?
            let verdict = Fixture.codec.verify(
                token[...], keyring: Self.ring, now: Fixture.now, maxLifetime: Fixture.maxLifetime, protocol: .http,
                peer: nil, authentic: &authentic)
            #expect(verdict.rejection == rejection)
            #expect(authentic == claims)
            #expect(authentic == Fixture.codec.authenticClaims(token, keyring: Self.ring, now: Fixture.now))
        }
    }
}
