//===----------------------------------------------------------------------===//
// ImageGate: lease holders are (node id, run id); liveness of another node's lease is its expiry alone;
// released leases (URL imports left for a node, tus uploads between PATCHes) are live for nobody.
//===----------------------------------------------------------------------===//
import GateCore
import Glibc
@testable import ImageCatalog
@testable import SQLiteCatalog
import Testing

@Suite struct LeaseIdentityTests {
    @Test func identityIsNodeAndRunNotPid() {
        let a = LeaseHolder(node: "node-a", pid: 10, run: "0123456789abcdef")
        #expect(a == LeaseHolder(node: "node-a", pid: 11, run: "0123456789abcdef"))
        #expect(a != LeaseHolder(node: "node-b", pid: 10, run: "0123456789abcdef"))
        #expect(a != LeaseHolder(node: "node-a", pid: 10, run: "fedcba9876543210"))
        #expect(Set([a, LeaseHolder(node: "node-a", pid: 12, run: "0123456789abcdef")]).count == 1)
    }

    @Test func onlyTheHoldersOwnNodeProbesItsPid() {
        let now: Int64 = 1_000
        let holder = LeaseHolder(node: "node-a", pid: deadPID, run: "r")
        let lease = ImportLease(holder: holder, heartbeat: now)
        // Node a itself sees at once that the process is gone.
        #expect(!lease.isLive(now: now, localNode: "node-a"))
        // Another node on the same host (same process table, other node id) never probes: expiry only.
        #expect(lease.isLive(now: now + ImportLease.lifetime, localNode: "node-b"))
        #expect(!lease.isLive(now: now + ImportLease.lifetime + 1, localNode: "node-b"))
    }

    @Test func aReleasedLeaseIsLiveForNobodyAndNeverRenewed() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let now: Int64 = 5_000
        var record = sampleRecord(status: .uploading)
        record.finalizedAt = nil
        try store.insert(record, lease: .released(now: now))
        let lease = try #require(try store.leases().first?.1)
        #expect(!lease.isLive(now: now) && !lease.isLive(now: now, localNode: "elsewhere"))
        #expect(try store.renewLeases(of: .current, heartbeat: now, expiresAt: now + ImportLease.lifetime) == 0)
        #expect(try store.claimLease(record.id, ImportLease(heartbeat: now), unless: { $0.isLive(now: now) }))
    }

    @Test func theHeartbeatMatchesTheHolderWhateverItsPid() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        var record = sampleRecord(status: .uploading)
        record.finalizedAt = nil
        var me = LeaseHolder.current
        me.pid = deadPID  // the same holder as seen with another pid (e.g. in another pid namespace)
        try store.insert(record, lease: ImportLease(holder: me, heartbeat: 100))
        #expect(try store.renewLeases(of: .current, heartbeat: 200, expiresAt: 230) == 1)
        #expect(try store.leases().first?.1.expiresAt == 230)
    }

    @Test func recoveryLeavesAResumableUploadNobodyHoldsAlone() throws {
        let dir = TempDir()
        let clock = ManualClock(10_000)
        let store = try dir.openStore(clock: clock)
        var pending = sampleRecord(status: .uploading)
        pending.finalizedAt = nil
        var expired = sampleRecord(status: .uploading)
        expired.finalizedAt = nil
        for (record, expiresAt) in [(pending, Int64(20_000)), (expired, Int64(9_000))] {
            try store.insert(record, lease: .released(now: 10_000))
            try store.saveImportJob(
                ImportJob(
                    imageID: record.id, source: .upload, declared: "raw", totalSize: 10, uploadID: "u-\(record.id)",
                    expiresAt: expiresAt, createdAt: 10_000))
        }
        let staging = try dir.blobs.createStaging(for: BlobVersion(image: pending.id, generation: 1))
        staging.close()  // the bytes stay for a later PATCH

        let report = try CatalogRecovery(store: store, blobs: dir.blobs, clock: clock).run()
        #expect(report.interruptedImports == 1 && report.removedStagingFiles == 0)
        #expect(try store.image(pending.id)?.status == .uploading)
        #expect(try store.image(expired.id)?.status == .failed)
        #expect(dir.blobs.stagedBlobs() == [staging.staged])
        // Still nobody's: the first PATCH may reach any node.
        let lease = try #require(try store.leases().first { $0.0 == pending.id }?.1)
        #expect(!lease.isLive(now: clock.now()))
    }
}
