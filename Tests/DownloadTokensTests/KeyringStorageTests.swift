//===----------------------------------------------------------------------===//
// ImageGate: TokenKeyStore over a compare-and-swap storage shared by several stores (what nodes on one
// catalog do): one keyring for all, rotations and removals seen by every store, no lost change.
//===----------------------------------------------------------------------===//
import GateCore
import Synchronization
import Testing
@testable import DownloadTokens

/// A versioned text in memory with the contract of a catalog document: version +1 per write, CAS only.
final class MemoryKeyringStorage: KeyringStorage {
    struct State {
        var keyring: (text: String, version: Int)?
        var deploymentID: String?
        var writes = 0
        /// Run once, just before the next compare-and-swap: another node's write sneaking in.
        var interloper: (@Sendable () -> Void)?
    }
    let state = Mutex(State())

    var keyringLocation: String { "memory keyring" }
    var deploymentIDLocation: String { "memory deployment id" }

    func readKeyring(unlessVersion seen: KeyringVersion?) throws(GateError) -> KeyringRead {
        state.withLock { s in
            guard let k = s.keyring else { return .missing }
            let version = KeyringVersion(String(k.version))
            return version == seen ? .unchanged : .current(StoredKeyring(text: k.text, version: version))
        }
    }

    func replaceKeyring(with text: String, expected: KeyringVersion?) throws(GateError)
        -> (stored: StoredKeyring, written: Bool)
    {
        if let sneak = state.withLock({ s in
            defer { s.interloper = nil }
            return s.interloper
        }) {
            sneak()
        }
        return state.withLock { s in
            let current = s.keyring.map { KeyringVersion(String($0.version)) }
            guard current == expected else {
                return (StoredKeyring(text: s.keyring!.text, version: current!), false)
            }
            let next = (s.keyring?.version ?? 0) + 1
            s.keyring = (text, next)
            s.writes += 1
            return (StoredKeyring(text: text, version: KeyringVersion(String(next))), true)
        }
    }

    func deploymentID(orCreate fresh: String) throws(GateError) -> String {
        state.withLock { s in
            if let id = s.deploymentID { return id }
            s.deploymentID = fresh
            return fresh
        }
    }
}

@Suite struct KeyringStorageTests {
    @Test func storesOnOneStorageShareDeploymentAndKeyring() throws {
        let shared = MemoryKeyringStorage()
        let clock = ManualClock(Fixture.now)
        let first = try TokenKeyStore.open(storage: shared, clock: clock)
        let second = try TokenKeyStore.open(storage: shared, clock: clock)
        #expect(first.created == ["memory deployment id", "memory keyring"])
        #expect(second.created.isEmpty)  // the second opener uses what the first made
        #expect(first.deploymentID == second.deploymentID && first.keyring() == second.keyring())
        #expect(shared.state.withLock { $0.writes } == 1)
        // A link minted through one verifies through the other.
        let token = first.codec.mint(Fixture.claims(), keyring: first.keyring())
        #expect(
            second.codec.verify(
                token, keyring: second.keyring(), now: Fixture.now, maxLifetime: Fixture.maxLifetime, protocol: .http,
                peer: nil
            ).claims != nil)
    }

    @Test func aRotationElsewhereIsSeenWithinASecond() throws {
        let shared = MemoryKeyringStorage()
        let clock = ManualClock(Fixture.now)
        let server = try TokenKeyStore.open(storage: shared, clock: clock)
        let cli = try TokenKeyStore.open(storage: shared, clock: clock)
        let before = server.keyring()
        let rotated = try cli.rotate(maxLifetime: 3600)
        #expect(server.keyring() == before)  // same clock second: not asked yet
        clock.advance(1)
        #expect(server.keyring() == rotated)
        try cli.remove(kid: before.active.kid)
        clock.advance(1)
        #expect(server.keyring().key(before.active.kid, now: clock.now()) == nil)
    }

    @Test func anUnknownKeyIDMayAskTheStorageAtOnce() throws {
        let shared = MemoryKeyringStorage()
        let clock = ManualClock(Fixture.now)
        let server = try TokenKeyStore.open(storage: shared, clock: clock)
        let before = server.keyring()
        let rotated = try TokenKeyStore.open(storage: shared, clock: clock).rotate(maxLifetime: 3600)
        // Same clock second: the scheduled look has not happened, the forced one sees the new key.
        #expect(server.keyring() == before)
        #expect(server.keyringAfterRefresh() == rotated)
        #expect(server.keyring() == rotated)
    }

    @Test func aLostRaceAppliesTheChangeToTheWinnersKeyring() throws {
        let shared = MemoryKeyringStorage()
        let clock = ManualClock(Fixture.now)
        let a = try TokenKeyStore.open(storage: shared, clock: clock)
        let b = try TokenKeyStore.open(storage: shared, clock: clock)
        // b rotates between a's read and a's compare-and-swap.
        shared.state.withLock { $0.interloper = { _ = try? b.rotate(maxLifetime: 3600) } }
        let ring = try a.rotate(maxLifetime: 3600)
        #expect(ring.keys.count == 3)  // both rotations survive
        #expect(shared.state.withLock { $0.writes } == 3)
    }

    @Test func removingRefusesTheActiveKeyAndUnknownOnes() throws {
        let clock = ManualClock(Fixture.now)
        let store = try TokenKeyStore.open(storage: MemoryKeyringStorage(), clock: clock)
        let only = store.keyring().active.kid
        #expect(throws: GateError.self) { try store.remove(kid: only) }
        do {
            try store.remove(kid: only)
        } catch {
            #expect(error.code == .conflict && error.message.contains("rotate"))
        }
        let rotated = try store.rotate(maxLifetime: 3600)
        do {
            try store.remove(kid: 0)  // kids are never 0
        } catch {
            #expect(error.code == .notFound)
        }
        // A retired key (past verifyUntil) no longer verifies but is still listed until removed.
        clock.advance(3600 + 61)
        #expect(store.keyring().key(only, now: clock.now()) == nil)
        #expect(store.keyring().keys.contains { $0.kid == only })
        let ring = try store.remove(kid: only)
        #expect(ring.keys.map(\.kid) == [rotated.active.kid])
    }

    @Test func aDamagedDeploymentIDIsRefusedByLocation() throws {
        let shared = MemoryKeyringStorage()
        _ = try shared.deploymentID(orCreate: "not hex")
        do {
            _ = try TokenKeyStore.open(storage: shared, clock: ManualClock(Fixture.now))
            Issue.record("a damaged deployment id was accepted")
        } catch {
            #expect(error.message == "memory deployment id must hold 32 hex digits")
        }
    }
}
