//===----------------------------------------------------------------------===//
// ImageGate: crash simulations for CatalogRecovery.
//===----------------------------------------------------------------------===//
import GateCore
import Glibc
import ImageCatalog
import SQLiteCatalog
import Synchronization
import Testing

@Suite struct RecoveryTests {
    /// An `uploading` row as the importer inserts it, with a lease held by `pid` on this host (this very
    /// process when `pid` is ours).
    func startImport(_ store: SQLiteCatalogStore, pid: Int32, heartbeat: Int64) throws -> ImageRecord {
        let record = ImageRecord(
            id: ImageRecord.newID(), tenant: .defaultTenant, name: "crashy", fileName: "crashy.img", format: .raw,
            status: .uploading, createdAt: heartbeat, updatedAt: heartbeat)
        let holder =
            pid == getpid() ? LeaseHolder.current : LeaseHolder(node: LeaseHolder.localNode, pid: pid, run: "r")
        try store.insert(record, lease: ImportLease(holder: holder, heartbeat: heartbeat))
        return record
    }

    /// An `available` row with its finalized blob of `size` random bytes, as a finished import leaves them (the
    /// import pipeline itself is tested in ImportPipelineTests).
    func availableImage(_ store: SQLiteCatalogStore, _ blobs: BlobStore, name: String, size: Int) throws -> ImageRecord
    {
        let id = ImageRecord.newID()
        let staging = try blobs.createStaging(for: BlobVersion(image: id, generation: 1))
        try randomBytes(size).withUnsafeBytes { try staging.append($0) }
        try staging.finalize(as: BlobVersion(image: id, generation: 1))
        let record = ImageRecord(
            id: id, tenant: .defaultTenant, name: name, fileName: name + ".img", format: .raw, size: UInt64(size),
            sha256: String(repeating: "ab", count: 32), status: .available, generation: 1, createdAt: 1,
            updatedAt: 1, finalizedAt: 1)
        try store.insert(record)
        return record
    }

    @Test func crashDuringCopyDeadPID() throws {
        // (a) Crash while copying: row uploading, owner pid gone, staging file half-written.
        let dir = TempDir()
        let clock = ManualClock(10_000)
        let store = try dir.openStore(clock: clock)
        let record = try startImport(store, pid: deadPID, heartbeat: 10_000)
        let staging = try dir.blobs.createStaging(for: BlobVersion(image: record.id, generation: 1))
        try [UInt8](repeating: 7, count: 100).withUnsafeBytes { try staging.append($0) }
        staging.close()

        var recovery = CatalogRecovery(store: store, blobs: dir.blobs, clock: clock)
        let told = Mutex<[ImageRecord]>([])
        recovery.onFailed = { r in told.withLock { $0.append(r) } }
        let report = try recovery.run()

        #expect(report.interruptedImports == 1)
        #expect(report.removedStagingFiles == 1)
        let row = try #require(try store.image(record.id))
        #expect(row.status == .failed && row.failureReason == "the importing process stopped")
        #expect(told.withLock { $0 } == [row])  // announced (image.failed) once, as stored
        #expect(dir.blobs.stagingFiles().isEmpty)
        #expect(try store.leases().isEmpty)
        // Idempotent: a second pass finds nothing.
        #expect(try CatalogRecovery(store: store, blobs: dir.blobs, clock: clock).run() == RecoveryReport())
    }

    @Test func crashBetweenRenameAndCommit() throws {
        // (b) The pieces of finalize ran up to the rename, then the process died before the DB commit.
        let dir = TempDir()
        let clock = ManualClock(10_000)
        let store = try dir.openStore(clock: clock)
        let record = try startImport(store, pid: getpid(), heartbeat: 10_000)
        let staging = try dir.blobs.createStaging(for: BlobVersion(image: record.id, generation: 1))
        try [UInt8](repeating: 1, count: 4096).withUnsafeBytes { try staging.append($0) }
        try staging.finalize(as: BlobVersion(image: record.id, generation: 1))
        #expect(dir.blobs.blobSize(record.id) == 4096)

        // Our process is alive, so the lease only dies by age: 30 s without a heartbeat.
        clock.advance(ImportLease.lifetime + 1)
        let report = try CatalogRecovery(store: store, blobs: dir.blobs, clock: clock).run()

        #expect(report.interruptedImports == 1 && report.removedBlobs == 1)
        #expect(try store.image(record.id)?.status == .failed)
        #expect(dir.blobs.blobSize(record.id) == nil)
    }

    @Test func liveImportIsLeftAlone() throws {
        // A CLI import running in another (here: this) process while the server starts.
        let dir = TempDir()
        let clock = ManualClock(10_000)
        let store = try dir.openStore(clock: clock)
        let record = try startImport(store, pid: getpid(), heartbeat: 10_000)
        let staging = try dir.blobs.createStaging(for: BlobVersion(image: record.id, generation: 1))
        defer { staging.close() }
        clock.advance(ImportLease.lifetime)

        let report = try CatalogRecovery(store: store, blobs: dir.blobs, clock: clock).run()

        #expect(report == RecoveryReport())
        #expect(try store.image(record.id)?.status == .uploading)
        #expect(dir.blobs.stagingFiles() == [staging.staged.name])
    }

    @Test func orphanStagingAndLeaselessRows() throws {
        let dir = TempDir()
        let clock = ManualClock(10_000)
        let store = try dir.openStore(clock: clock)
        // A row stuck in uploading with no lease at all has no owner.
        let orphanRow = ImageRecord(
            id: ImageRecord.newID(), tenant: .defaultTenant, name: "no lease", fileName: "x.img", format: .raw,
            status: .uploading, createdAt: 1, updatedAt: 1)
        try store.insert(orphanRow)
        // Staging files of unknown images and with foreign names.
        let stray = try dir.blobs.createStaging(for: BlobVersion(image: ImageRecord.newID(), generation: 1))
        stray.close()
        let foreign = try dir.blobs.createStaging(for: BlobVersion(image: ImageRecord.newID(), generation: 1))
        foreign.close()
        rename(foreign.staged.name, dir.blobs.stagingDirectory + "/garbage")

        let report = try CatalogRecovery(store: store, blobs: dir.blobs, clock: clock).run()

        #expect(report.interruptedImports == 1 && report.removedStagingFiles == 2)
        #expect(try store.image(orphanRow.id)?.status == .failed)
        #expect(dir.blobs.stagingFiles().isEmpty)
    }

    @Test func damagedAvailableImages() throws {
        // (c) available rows whose blob was truncated, deleted, or is intact.
        let dir = TempDir()
        let clock = ManualClock(1_700_000_000)
        let store = try dir.openStore(clock: clock)
        let truncated = try availableImage(store, dir.blobs, name: "truncated", size: 5000)
        let deleted = try availableImage(store, dir.blobs, name: "deleted", size: 5000)
        let intact = try availableImage(store, dir.blobs, name: "intact", size: 5000)
        #expect(truncate(dir.blobs.path(for: truncated.id), 1000) == 0)
        dir.blobs.remove(deleted.id)

        var recovery = CatalogRecovery(store: store, blobs: dir.blobs, clock: clock)
        let told = Mutex<[ImageID]>([])
        recovery.onFailed = { r in told.withLock { $0.append(r.id) } }
        let report = try recovery.run()

        #expect(report.damagedImages == 2 && report.interruptedImports == 0)
        #expect(Set(told.withLock { $0 }) == [truncated.id, deleted.id])
        for id in [truncated.id, deleted.id] {
            let row = try #require(try store.image(id))
            #expect(row.status == .failed && row.failureReason == "image bytes missing or damaged")
            #expect(row.generation == 2)  // outstanding tokens die
        }
        #expect(try store.image(intact.id) == intact)
    }
}
