//===----------------------------------------------------------------------===//
// ImageGate: import leases: liveness, take-over, heartbeat, and the upgrade of older catalogs.
//===----------------------------------------------------------------------===//
import GateCore
import Glibc
@testable import ImageCatalog
@testable import SQLiteCatalog
import Testing

@Suite struct LeaseTests {
    let otherNode = "some-other-node"

    @Test func livenessRules() {
        let now: Int64 = 1_000
        // This process: live until the lease expires, however long it runs.
        #expect(ImportLease(heartbeat: now).isLive(now: now + ImportLease.lifetime))
        #expect(!ImportLease(heartbeat: now).isLive(now: now + ImportLease.lifetime + 1))
        // A process on this host that is gone: dead at once, without waiting for expiry.
        let gone = LeaseHolder(node: LeaseHolder.localNode, pid: deadPID, run: "r")
        #expect(!ImportLease(holder: gone, heartbeat: now).isLive(now: now))
        // The same pid on another node cannot be probed from here: only expiry counts.
        let remote = LeaseHolder(node: otherNode, pid: deadPID, run: "r")
        #expect(ImportLease(holder: remote, heartbeat: now).isLive(now: now + ImportLease.lifetime))
        #expect(!ImportLease(holder: remote, heartbeat: now).isLive(now: now + ImportLease.lifetime + 1))
        // Our own pid under another run is an earlier process whose pid we got: dead.
        let earlier = LeaseHolder(node: LeaseHolder.localNode, pid: getpid(), run: "0000000000000000")
        #expect(!ImportLease(holder: earlier, heartbeat: now).isLive(now: now))
        // Leases from before migration 5 (no node) were all written on this host.
        let legacy = LeaseHolder(node: "", pid: deadPID, run: "")
        #expect(!ImportLease(holder: legacy, heartbeat: now).isLive(now: now))
        for pid: Int32 in [0, -1] {
            #expect(!ImportLease(holder: LeaseHolder(node: "", pid: pid, run: ""), heartbeat: now).isLive(now: now))
        }
        // init exists (EPERM or alive): a local pid that exists keeps its lease until expiry.
        #expect(ImportLease(holder: LeaseHolder(node: "", pid: 1, run: "r"), heartbeat: now).isLive(now: now))
    }

    @Test func holderIdentityIsNodeProcessAndRun() {
        let me = LeaseHolder.current
        #expect(me.node == LeaseHolder.localNode && !me.node.isEmpty)
        #expect(me.pid == getpid() && me.run.count == 16)
        #expect(me.description == "\(me.node)/\(me.pid)/\(me.run)")
    }

    func uploading(_ store: SQLiteCatalogStore, lease: ImportLease?) throws -> ImageRecord {
        var record = sampleRecord(status: .uploading)
        record.finalizedAt = nil
        try store.insert(record, lease: lease)
        return record
    }

    @Test func claimTakesOverOnlyWhatIsNotHeld() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let now: Int64 = 5_000
        let live = ImportLease(holder: LeaseHolder(node: otherNode, pid: 7, run: "a"), heartbeat: now)
        let held = try uploading(store, lease: live)
        let mine = ImportLease(heartbeat: now)
        #expect(try !store.claimLease(held.id, mine, unless: { $0.isLive(now: now) }))
        #expect(try store.leases().first?.1 == live)
        // Expired: taken over, and a second claimer sees the new holder's live lease.
        let later = now + ImportLease.lifetime + 1
        #expect(try store.claimLease(held.id, ImportLease(heartbeat: later), unless: { $0.isLive(now: later) }))
        #expect(try store.leases().first?.1.holder == .current)
        let rival = ImportLease(holder: LeaseHolder(node: otherNode, pid: 8, run: "b"), heartbeat: later)
        #expect(try !store.claimLease(held.id, rival, unless: { $0.isLive(now: later) }))
        // A row without any lease is free; a row no longer in progress is not claimable.
        let orphan = try uploading(store, lease: nil)
        #expect(try store.claimLease(orphan.id, mine, unless: { $0.isLive(now: now) }))
        _ = try store.update(orphan.id) { r throws(GateError) in r.status = .failed }
        #expect(try !store.claimLease(orphan.id, mine, unless: { _ in false }))
        let missing = #expect(throws: GateError.self) {
            try store.claimLease(ImageRecord.newID(), mine, unless: { _ in false })
        }
        #expect(missing?.code == .notFound)
    }

    @Test func heartbeatRenewsOnlyTheHoldersLeases() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let other = ImportLease(holder: LeaseHolder(node: otherNode, pid: 9, run: "c"), heartbeat: 100)
        let a = try uploading(store, lease: ImportLease(heartbeat: 100))
        let b = try uploading(store, lease: ImportLease(heartbeat: 100))
        let theirs = try uploading(store, lease: other)
        #expect(try store.renewLeases(of: .current, heartbeat: 200, expiresAt: 230) == 2)
        let leases = Dictionary(try store.leases(), uniquingKeysWith: { x, _ in x })
        for id in [a.id, b.id] { #expect(leases[id]?.heartbeat == 200 && leases[id]?.expiresAt == 230) }
        #expect(leases[theirs.id] == other)
    }

    @Test func recoveryLeavesALiveRemoteHolderAloneUntilItsLeaseExpires() throws {
        let dir = TempDir()
        let clock = ManualClock(10_000)
        let store = try dir.openStore(clock: clock)
        let remote = ImportLease(holder: LeaseHolder(node: otherNode, pid: deadPID, run: "d"), heartbeat: 10_000)
        let record = try uploading(store, lease: remote)
        let staging = try dir.blobs.createStaging(for: BlobVersion(image: record.id, generation: 1))
        staging.close()

        clock.advance(ImportLease.lifetime)
        #expect(try CatalogRecovery(store: store, blobs: dir.blobs, clock: clock).run() == RecoveryReport())
        #expect(try store.image(record.id)?.status == .uploading)
        #expect(dir.blobs.stagingFiles() == [staging.staged.name])

        clock.advance(1)
        let report = try CatalogRecovery(store: store, blobs: dir.blobs, clock: clock).run()
        #expect(report.interruptedImports == 1 && report.removedStagingFiles == 1)
        let row = try #require(try store.image(record.id))
        #expect(row.status == .failed && row.failureReason == ImportLease.stoppedReason)
    }

    @Test func aVersion3CatalogUpgradesThroughMigrations4And5() throws {
        let dir = TempDir()
        try FileSystem.makeDirectories(FileSystem.parentDirectory(of: dir.catalogPath))
        // A catalog as the previous release left it: three migrations, a pid-only lease, a minted link.
        do {
            let db = try SQLiteConnection(path: dir.catalogPath)
            for sql in CatalogSchema.migrations.prefix(3) { try db.execute(sql) }
            try db.execute("PRAGMA user_version = 3")
            try db.execute(
                """
                INSERT INTO images (id, tenant, name, file_name, format, status, created_at, updated_at)
                VALUES ('img-0123456789abcdef0123456789abcdef', 'ten-00000000000000000000000000000001', 'old',
                        'old.img', 'raw', 'uploading', 100, 100);
                INSERT INTO import_leases (image_id, pid, heartbeat)
                VALUES ('img-0123456789abcdef0123456789abcdef', 4242, 100);
                INSERT INTO token_issues (serial, image_id, tenant, issued_at, expires_at, protocols, minter)
                VALUES ('0123456789abcdef0123456789abcdef', 'img-0123456789abcdef0123456789abcdef',
                        'ten-00000000000000000000000000000001', 100, 200, 1, 'cli');
                """)
        }
        let store = try dir.openStore()
        let version = try CatalogSchema.userVersion(SQLiteConnection(path: dir.catalogPath))
        #expect(version == CatalogSchema.migrations.count)
        let lease = try #require(try store.leases().first?.1)
        // The old rule's grace (10 minutes since the heartbeat) carries over; the holder has no node or run.
        #expect(lease.holder == LeaseHolder(node: "", pid: 4242, run: "") && lease.expiresAt == 700)
        let issue = try #require(try store.tokenIssue(serial: ID128(hex: "0123456789abcdef0123456789abcdef")!))
        #expect(issue.fileName == nil && issue.minter == "cli")
    }
}
