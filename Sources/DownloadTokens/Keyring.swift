//===----------------------------------------------------------------------===//
// ImageGate: the set of signing keys: one active, some verify-only (Docs/protocols.md §3.5).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore

/// An immutable set of signing keys. Exactly one is `active` (mints and verifies); the others are
/// verify-only until their `verifyUntil`, then count as retired (unknown) and are dropped at the next rotation.
public struct Keyring: Sendable, Equatable {
    /// Active key first, then verify-only keys, newest first.
    public let keys: [SigningKey]

    /// The key new tokens are minted with.
    public var active: SigningKey { keys[0] }

    /// Checks the invariants: exactly one active key, no verify-only key without `verifyUntil`, unique kids.
    public init(keys: [SigningKey]) throws(GateError) {
        let actives = keys.filter { $0.state == .active }
        guard actives.count == 1 else { throw GateError.invalid("keyring must have exactly one active key") }
        guard Set(keys.map(\.kid)).count == keys.count else { throw GateError.invalid("keyring has duplicate kids") }
        guard keys.allSatisfy({ $0.state == .active || $0.verifyUntil != nil }) else {
            throw GateError.invalid("verify-only key without verifyUntil")
        }
        let others = keys.filter { $0.state != .active }.sorted { $0.createdAt > $1.createdAt }
        self.keys = actives + others
    }

    /// A keyring with one freshly generated active key.
    public static func generate(now: Int64) -> Keyring {
        // One active key, so the invariants hold.
        try! Keyring(keys: [SigningKey.generate(kid: randomKid(avoiding: []), now: now)])
    }

    /// The key for `kid` if it may verify at `now` (§3.3 step 2); verify-only keys past `verifyUntil` are
    /// treated exactly like unknown ones.
    public func key(_ kid: UInt32, now: Int64) -> SigningKey? {
        keyIndex(kid, now: now).map { keys[$0] }
    }

    /// Where `key(kid, now:)`'s key is in `keys`: token verification MACs with it in place instead of copying
    /// the key (its two SHA-256 midstates) per request.
    func keyIndex(_ kid: UInt32, now: Int64) -> Int? {
        for i in keys.indices where keys[i].kid == kid {
            return keys[i].usable(at: now) ? i : nil
        }
        return nil
    }

    /// Scheduled rotation: a new random kid becomes active; the old active key becomes verify-only until
    /// `now + maxLifetime + 60` (the longest token it can have signed, plus the 60 s expiry leeway of §3.3
    /// step 5), so no outstanding token dies early. Keys already past `verifyUntil` are dropped.
    public func rotated(now: Int64, maxLifetime: Int64) -> Keyring {
        var old = active
        old.state = .verifyOnly
        old.verifyUntil = now + max(0, maxLifetime) + 60
        let kept = keys.dropFirst().filter { $0.usable(at: now) }
        let fresh = SigningKey.generate(kid: Self.randomKid(avoiding: Set(keys.map(\.kid))), now: now)
        // One active key and unique kids by construction.
        return try! Keyring(keys: [fresh, old] + kept)
    }

    /// Emergency retirement (§3.5): removes a verify-only key at once, killing every token it signed.
    /// The active key cannot be retired this way; rotate first.
    public func retiring(kid: UInt32) throws(GateError) -> Keyring {
        guard keys.contains(where: { $0.kid == kid }) else {
            throw GateError.notFound("no signing key \(SigningKey.hex(kid))")
        }
        guard active.kid != kid else { throw GateError.conflict("cannot retire the active key; rotate first") }
        return try Keyring(keys: keys.filter { $0.kid != kid })
    }

    /// `imagegate key remove`: drops any key but the active one, whether it still verifies (its tokens die at
    /// once, as with `retiring`) or is already retired (past `verifyUntil`, kept only until the next rotation).
    /// The active key signs every new link and is the one key a keyring cannot be without: rotate first.
    public func removing(kid: UInt32) throws(GateError) -> Keyring {
        guard keys.contains(where: { $0.kid == kid }) else {
            throw GateError.notFound("no signing key \(SigningKey.hex(kid))")
        }
        guard active.kid != kid else {
            throw GateError.conflict(
                "signing key \(SigningKey.hex(kid)) is the active key (it signs every new link) and cannot be removed; "
                    + "run 'imagegate key rotate' first, then remove it")
        }
        return try Keyring(keys: keys.filter { $0.kid != kid })
    }

    /// Random 32-bit kid: ids carry no order or count, and never repeat within a keyring.
    static func randomKid(avoiding used: Set<UInt32>) -> UInt32 {
        while true {
            let b = Crypto.randomBytes(4)
            let kid = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
            if kid != 0 && !used.contains(kid) { return kid }
        }
    }
}
