//===----------------------------------------------------------------------===//
// ImageGate: the SQLite catalog's shared state (documents, task leases, console sessions). The same rules are
// checked against every store kind by the conformance suite; these pin the SQLite file's own behaviour.
//===----------------------------------------------------------------------===//
import GateCore
@testable import ImageCatalog
@testable import SQLiteCatalog
import Testing

@Suite struct SharedStateTests {
    @Test func documentsAreReplacedByCompareAndSwapOnly() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        defer { store.close() }
        #expect(try store.document("keys") == nil)
        let first = try store.putDocument("keys", body: "a", expectedVersion: nil)
        #expect(first.written && first.document.version == 1 && first.document.body == "a")
        // A second creator loses and sees the winner's text.
        let late = try store.putDocument("keys", body: "b", expectedVersion: nil)
        #expect(!late.written && late.document.body == "a")
        let second = try store.putDocument("keys", body: "c", expectedVersion: 1)
        #expect(second.written && second.document.version == 2)
        // A writer holding the old version loses too.
        let stale = try store.putDocument("keys", body: "d", expectedVersion: 1)
        #expect(!stale.written && stale.document.body == "c" && stale.document.version == 2)
        #expect(try store.document("keys")?.body == "c")
        #expect(throws: GateError.self) { try store.putDocument("other", body: "x", expectedVersion: 4) }
    }

    @Test func aTaskLeaseHasOneHolderUntilItExpires() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        defer { store.close() }
        #expect(try store.claimTask("purge", holder: "n1", now: 100, expiresAt: 130))
        #expect(try !store.claimTask("purge", holder: "n2", now: 110, expiresAt: 140))
        #expect(try store.claimTask("purge", holder: "n1", now: 120, expiresAt: 150))  // renewal
        #expect(try !store.claimTask("purge", holder: "n2", now: 149, expiresAt: 180))
        #expect(try store.claimTask("purge", holder: "n2", now: 150, expiresAt: 180))  // expired: taken over
        try store.releaseTask("purge", holder: "n1")  // not n1's any more: nothing happens
        #expect(try !store.claimTask("purge", holder: "n1", now: 151, expiresAt: 181))
        try store.releaseTask("purge", holder: "n2")
        #expect(try store.claimTask("purge", holder: "n1", now: 152, expiresAt: 182))
    }

    @Test func consoleSessionsLiveInTheCatalog() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let s = ConsoleSessionRecord(
            digest: String(repeating: "ab", count: 32), keyID: "k1", accountID: "admin", csrfToken: "c",
            createdAt: 100, lastSeen: 100)
        try store.insertConsoleSession(s)
        #expect(throws: GateError.self) { try store.insertConsoleSession(s) }
        #expect(try store.touchConsoleSession(digest: s.digest, lastSeen: 150))
        #expect(try store.touchConsoleSession(digest: s.digest, lastSeen: 120))  // never backwards
        #expect(try store.consoleSession(digest: s.digest)?.lastSeen == 150)
        #expect(try !store.touchConsoleSession(digest: "none", lastSeen: 1))
        // A second store on the same file (another process) sees it.
        let other = try dir.openStore()
        #expect(
            try other.consoleSession(digest: s.digest)
                == ConsoleSessionRecord(
                    digest: s.digest, keyID: "k1", accountID: "admin", csrfToken: "c", createdAt: 100, lastSeen: 150))
        var t = s
        t.digest = String(repeating: "cd", count: 32)
        t.keyID = "k2"
        t.lastSeen = 400
        t.createdAt = 400
        try store.insertConsoleSession(t)
        #expect(try store.removeConsoleSessions(idleBefore: 0, createdBefore: 0, keyID: "k2") == 1)
        #expect(try store.removeConsoleSessions(idleBefore: 151, createdBefore: 0, keyID: nil) == 1)
        #expect(try other.consoleSession(digest: s.digest) == nil)
        other.close()
        store.close()
    }
}
