//===----------------------------------------------------------------------===//
// ImageGate: CatalogStore conformance: shared documents, task leases, console sessions, import jobs.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Testing

@Suite struct SharedStateConformanceTests {
    @Test(arguments: StoreKind.available) func documentsAreReplacedByCompareAndSwapOnly(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let clock = ManualClock(500)
        let store = try catalog.open(clock: clock)
        #expect(try store.document("keys") == nil)
        let first = try store.putDocument("keys", body: "a", expectedVersion: nil)
        #expect(
            first
                == SharedDocumentWrite(
                    document: SharedDocument(name: "keys", body: "a", version: 1, updatedAt: 500), written: true))
        let late = try store.putDocument("keys", body: "b", expectedVersion: nil)
        #expect(!late.written && late.document == first.document)
        clock.set(600)
        let second = try store.putDocument("keys", body: "c", expectedVersion: 1)
        #expect(
            second.written && second.document == SharedDocument(name: "keys", body: "c", version: 2, updatedAt: 600))
        let stale = try store.putDocument("keys", body: "d", expectedVersion: 1)
        #expect(!stale.written && stale.document == second.document)
        #expect(try store.document("keys") == second.document)
        let absent = #expect(throws: GateError.self) { try store.putDocument("other", body: "x", expectedVersion: 4) }
        #expect(absent?.code == .conflict)
        #expect(try store.document("other") == nil)
    }

    /// Threads of two stores all replace version v at once: exactly one write wins per round, and every loser
    /// is told the winner's document.
    @Test(arguments: StoreKind.available) func documentRaceHasOneWinner(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let stores = [try catalog.open(), try catalog.open()]
        for round in 0..<4 {
            let expected: Int64? = round == 0 ? nil : Int64(round)
            let results = Collected<SharedDocumentWrite>()
            try onThreads(8) { i in
                results.append(try stores[i % 2].putDocument("race", body: "r\(round)-\(i)", expectedVersion: expected))
            }
            let winners = results.all.filter(\.written)
            #expect(winners.count == 1)
            let stored = try #require(try stores[0].document("race"))
            #expect(stored.version == Int64(round + 1) && winners.first?.document == stored)
            #expect(results.all.allSatisfy { $0.document == stored })
        }
    }

    @Test(arguments: StoreKind.available) func aTaskLeaseHasOneHolderUntilItExpires(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        #expect(try store.claimTask("purge", holder: "n1", now: 100, expiresAt: 130))
        #expect(try !store.claimTask("purge", holder: "n2", now: 110, expiresAt: 140))
        #expect(try store.claimTask("purge", holder: "n1", now: 120, expiresAt: 150))  // renewal
        #expect(try !store.claimTask("purge", holder: "n2", now: 149, expiresAt: 180))
        #expect(try store.claimTask("purge", holder: "n2", now: 150, expiresAt: 180))  // expired: taken over
        try store.releaseTask("purge", holder: "n1")  // not n1's any more: nothing happens
        #expect(try !store.claimTask("purge", holder: "n1", now: 151, expiresAt: 181))
        try store.releaseTask("purge", holder: "n2")
        try store.releaseTask("purge", holder: "n2")  // idempotent
        #expect(try store.claimTask("purge", holder: "n1", now: 152, expiresAt: 182))
        #expect(try store.claimTask("sweep", holder: "n2", now: 152, expiresAt: 182))  // another task, another lease
    }

    @Test(arguments: StoreKind.available) func taskLeaseRaceHasOneWinner(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let stores = [try catalog.open(), try catalog.open()]
        for round in 0..<4 {
            let winners = Collected<Int>()
            // Round 0: nobody holds it; later rounds: the previous holder's lease has expired.
            let now = Int64(round * 100)
            try onThreads(8) { i in
                if try stores[i % 2].claimTask("job", holder: "node-\(round)-\(i)", now: now, expiresAt: now + 100) {
                    winners.append(i)
                }
            }
            #expect(winners.all.count == 1)
        }
    }

    @Test(arguments: StoreKind.available) func consoleSessionsLiveInTheCatalog(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let s = ConsoleSessionRecord(
            digest: String(repeating: "ab", count: 32), keyID: "k1", accountID: "admin", csrfToken: "c",
            createdAt: 100, lastSeen: 100)
        try store.insertConsoleSession(s)
        let duplicate = #expect(throws: GateError.self) { try store.insertConsoleSession(s) }
        #expect(duplicate?.code == .alreadyExists)
        #expect(try store.touchConsoleSession(digest: s.digest, lastSeen: 150))
        #expect(try store.touchConsoleSession(digest: s.digest, lastSeen: 120))  // never backwards
        #expect(try store.consoleSession(digest: s.digest)?.lastSeen == 150)
        #expect(try !store.touchConsoleSession(digest: "none", lastSeen: 1))
        #expect(try store.consoleSession(digest: "none") == nil)
        let other = try catalog.open()  // another node sees it
        var expected = s
        expected.lastSeen = 150
        #expect(try other.consoleSession(digest: s.digest) == expected)
        var t = s
        t.digest = String(repeating: "cd", count: 32)
        t.keyID = "k2"
        t.createdAt = 400
        t.lastSeen = 400
        var u = t
        u.digest = String(repeating: "ef", count: 32)
        u.createdAt = 50
        try store.insertConsoleSession(t)
        try store.insertConsoleSession(u)
        #expect(try store.removeConsoleSessions(idleBefore: 0, createdBefore: 0, keyID: "k2") == 2)
        #expect(try store.removeConsoleSessions(idleBefore: 150, createdBefore: 0, keyID: nil) == 0)
        #expect(try store.removeConsoleSessions(idleBefore: 151, createdBefore: 0, keyID: nil) == 1)
        #expect(try other.consoleSession(digest: s.digest) == nil)
        try store.insertConsoleSession(s)
        #expect(try store.removeConsoleSessions(idleBefore: 0, createdBefore: 101, keyID: nil) == 1)
        try store.insertConsoleSession(s)
        try store.removeConsoleSession(digest: s.digest)
        try store.removeConsoleSession(digest: s.digest)  // idempotent
        #expect(try store.consoleSession(digest: s.digest) == nil)
    }

    @Test(arguments: StoreKind.available) func importJobsRoundTripAndOrder(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let a = sampleRecord(status: .making)
        let b = sampleRecord(status: .uploading)
        let c = sampleRecord(status: .uploading)
        for r in [a, b, c] { try store.insert(r) }
        let url = ImportJob(
            imageID: a.id, source: .url, sealedURL: "abcd", displayURL: "https://***@h/x.qcow2", declared: "qcow2",
            expectedSHA256: String(repeating: "0", count: 64), encrypted: true, totalSize: 1 << 33,
            validator: "\"etag\"",
            createdAt: 20, detectFormat: .selfMade)
        let up1 = ImportJob(
            imageID: b.id, source: .upload, declared: "raw", uploadID: "up-b", expiresAt: 99, createdAt: 10)
        let up2 = ImportJob(
            imageID: c.id, source: .upload, declared: "iso", uploadID: "up-c", createdAt: 10, detectFormat: .any)
        for j in [url, up1, up2] { try store.saveImportJob(j) }
        #expect(try store.importJob(image: a.id) == url)
        #expect(try store.importJob(upload: "up-b") == up1)
        #expect(try store.importJob(upload: "none") == nil)
        #expect(try store.importJobs() == [up1, up2].sorted { $0.imageID < $1.imageID } + [url])
        // Saving again replaces the job (resumption state moves on).
        var moved = url
        moved.validator = "W/\"2\""
        moved.totalSize = nil
        try store.saveImportJob(moved)
        #expect(try store.importJob(image: a.id) == moved)
        #expect(try store.importJobs().count == 3)
        // A job needs its image row.
        #expect(throws: GateError.self) {
            try store.saveImportJob(
                ImportJob(imageID: ImageRecord.newID(), source: .url, declared: "raw", createdAt: 1))
        }
        try store.deleteImportJob(image: b.id)
        try store.deleteImportJob(image: b.id)  // idempotent
        #expect(try store.importJob(upload: "up-b") == nil)
        #expect(try store.importJobs().map(\.imageID) == [c.id, a.id])
    }
}
