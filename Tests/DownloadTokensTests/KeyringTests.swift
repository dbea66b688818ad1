//===----------------------------------------------------------------------===//
// ImageGate: keyring invariants and rotation semantics (Docs/protocols.md §3.5).
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import Testing
@testable import DownloadTokens

@Suite struct KeyringTests {
    @Test func rotationKeepsOldTokensUntilVerifyUntil() throws {
        let t0 = Fixture.now
        let ring0 = Keyring.generate(now: t0 - 100)
        let oldToken = Fixture.codec.mint(Fixture.claims(iat: t0, exp: t0 + Fixture.maxLifetime), keyring: ring0)

        let ring1 = ring0.rotated(now: t0, maxLifetime: Fixture.maxLifetime)
        #expect(ring1.active.kid != ring0.active.kid)
        #expect(ring1.active.state == .active)
        #expect(ring1.active.secret != ring0.active.secret)
        let demoted = try #require(ring1.keys.first { $0.kid == ring0.active.kid })
        #expect(demoted.state == .verifyOnly)
        #expect(demoted.verifyUntil == t0 + Fixture.maxLifetime + 60)

        // The longest-lived old token verifies to the last second of its leeway, then its key is gone.
        let lastSecond = t0 + Fixture.maxLifetime + 60
        #expect(Fixture.verify(oldToken, keyring: ring1, now: t0 + 1).claims != nil)
        #expect(Fixture.verify(oldToken, keyring: ring1, now: lastSecond).claims != nil)
        #expect(Fixture.verify(oldToken, keyring: ring1, now: lastSecond + 1).rejection == .unknownKey)

        // New tokens carry the new kid.
        let newToken = Fixture.codec.mint(Fixture.claims(iat: t0), keyring: ring1)
        #expect(Fixture.verify(newToken, keyring: ring1).claims?.kid == ring1.active.kid)
        #expect(Fixture.verify(newToken, keyring: ring0).rejection == .unknownKey)
    }

    @Test func rotationDropsRetiredKeys() {
        let ring0 = Keyring.generate(now: 0)
        let ring1 = ring0.rotated(now: 1000, maxLifetime: 100)  // ring0's key verifies until 1160
        let ring2 = ring1.rotated(now: 1100, maxLifetime: 100)  // still there
        #expect(ring2.keys.count == 3)
        let ring3 = ring2.rotated(now: 1161, maxLifetime: 100)  // ring0's key is past verifyUntil
        #expect(ring3.keys.count == 3)
        #expect(!ring3.keys.contains { $0.kid == ring0.active.kid })
        #expect(Set(ring3.keys.map(\.kid)).count == 3)
        #expect(ring3.keys.filter { $0.state == .active }.count == 1)
    }

    @Test func emergencyRetire() throws {
        let ring1 = Keyring.generate(now: 0).rotated(now: 10, maxLifetime: 100)
        let old = ring1.keys[1]
        let ring2 = try ring1.retiring(kid: old.kid)
        #expect(ring2.key(old.kid, now: 11) == nil)
        #expect(throws: GateError.self) { try ring1.retiring(kid: ring1.active.kid) }
        #expect(throws: GateError.self) { try ring1.retiring(kid: 0x5555_5555) }
    }

    @Test func invariants() {
        let a = SigningKey.generate(kid: 1, now: 0)
        let b = SigningKey.generate(kid: 2, now: 0)
        var c = SigningKey.generate(kid: 1, now: 0)
        c.state = .verifyOnly
        c.verifyUntil = 5
        var d = SigningKey.generate(kid: 3, now: 0)
        d.state = .verifyOnly
        #expect(throws: GateError.self) { try Keyring(keys: []) }
        #expect(throws: GateError.self) { try Keyring(keys: [a, b]) }
        #expect(throws: GateError.self) { try Keyring(keys: [a, c]) }
        #expect(throws: GateError.self) { try Keyring(keys: [b, d]) }
        #expect(throws: Never.self) { try Keyring(keys: [c, b]) }
        #expect((try? Keyring(keys: [c, b]))?.active.kid == 2)
    }

    @Test func secretNeverInDescriptions() {
        let key = Fixture.key
        let hex = Hex.encode(key.secret)
        var dumped = ""
        dump(key, to: &dumped)
        for text in [
            String(describing: key), String(reflecting: key), "\(key)", dumped, String(describing: Fixture.keyring),
        ] {
            #expect(!text.contains(hex))
            #expect(!text.contains("7, 7, 7"))
        }
        #expect(String(describing: key).contains("01020304"))
    }

    @Test func codableRoundTripAndValidation() throws {
        let key = SigningKey(kid: 42, secret: Array(0..<32), state: .verifyOnly, createdAt: 5, verifyUntil: 9)
        let data = try JSONEncoder().encode(key)
        #expect(try JSONDecoder().decode(SigningKey.self, from: data) == key)
        let short = #"{"kid":1,"secret":"00ff","state":"active","createdAt":0}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SigningKey.self, from: Data(short.utf8)) }
        let badState = #"{"kid":1,"secret":"\#(String(repeating: "ab", count: 32))","state":"retired","createdAt":0}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SigningKey.self, from: Data(badState.utf8)) }
    }
}
