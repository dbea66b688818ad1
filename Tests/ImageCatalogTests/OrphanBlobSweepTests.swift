//===----------------------------------------------------------------------===//
// ImageGate: orphan blobs go to quarantine, after a grace period, and never many at once.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import Glibc
import ImageCatalog
import SQLiteCatalog
import Testing

@Suite struct OrphanBlobSweepTests {
    /// A blob file with the given modification time and no row.
    func plantOrphan(_ dir: TempDir, modifiedAt: Int64) throws -> ImageID {
        try plantOrphanWithID(dir, ImageRecord.newID(), modifiedAt: modifiedAt)
    }

    /// A blob file for `id` (with or without a row) with the given modification time.
    func plantOrphanWithID(_ dir: TempDir, _ id: ImageID, modifiedAt: Int64) throws -> ImageID {
        try FileManager.default.createDirectory(atPath: dir.blobs.blobDirectory, withIntermediateDirectories: true)
        let path = dir.blobs.path(for: id)
        #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))
        var times = [timespec(tv_sec: Int(modifiedAt), tv_nsec: 0), timespec(tv_sec: Int(modifiedAt), tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        return id
    }

    func sweep(_ dir: TempDir, _ store: SQLiteCatalogStore, _ clock: ManualClock, limit: Int = 5)
        -> OrphanBlobSweep
    {
        OrphanBlobSweep(store: store, blobs: dir.blobs, clock: clock, grace: 3600, limit: limit)
    }

    @Test func oldOrphanIsQuarantinedNotDeletedAndRowsAreLeftAlone() throws {
        let dir = TempDir()
        let clock = ManualClock(1_700_000_000)
        let store = try dir.openStore(clock: clock)
        let kept = sampleRecord()
        try store.insert(kept, lease: nil)
        _ = try plantOrphanWithID(dir, kept.id, modifiedAt: clock.now() - 7200)
        let orphan = try plantOrphan(dir, modifiedAt: clock.now() - 7200)

        let report = try sweep(dir, store, clock).run()

        #expect(report.quarantined.map(\.id) == [orphan])
        #expect(report.refused == nil && report.failure == nil)
        let moved = dir.blobs.quarantineDirectory + "/\(orphan).\(clock.now())"
        #expect(report.quarantined.first?.path == moved)
        #expect(readAll(moved) == [1, 2, 3])
        #expect(dir.blobs.blobSize(orphan) == nil)
        #expect(dir.blobs.blobSize(kept.id) == 3)
        // Nothing left to do.
        #expect(try sweep(dir, store, clock).run() == OrphanSweepReport())
    }

    @Test func youngOrphanWaitsForTheGracePeriod() throws {
        let dir = TempDir()
        let clock = ManualClock(1_700_000_000)
        let store = try dir.openStore(clock: clock)
        let orphan = try plantOrphan(dir, modifiedAt: clock.now() - 60)

        let first = try sweep(dir, store, clock).run()
        #expect(first.young == 1 && first.quarantined.isEmpty)
        #expect(dir.blobs.blobSize(orphan) == 3)

        clock.advance(3600)
        #expect(try sweep(dir, store, clock).run().quarantined.map(\.id) == [orphan])
    }

    @Test("more orphans than the limit: nothing moves, the sweep reports them")
    func overTheLimitMovesNothing() throws {
        let dir = TempDir()
        let clock = ManualClock(1_700_000_000)
        let store = try dir.openStore(clock: clock)
        var planted: [ImageID] = []
        for _ in 0..<6 { planted.append(try plantOrphan(dir, modifiedAt: clock.now() - 7200)) }

        let report = try sweep(dir, store, clock, limit: 5).run()

        #expect(report.quarantined.isEmpty)
        #expect(report.refused == planted.sorted { $0.description < $1.description })
        for id in planted { #expect(dir.blobs.blobSize(id) == 3) }
        #expect(FileSystemProbe.entries(dir.blobs.quarantineDirectory).isEmpty)
        // A higher limit (the operator's decision) lets the same sweep go through.
        #expect(try sweep(dir, store, clock, limit: 6).run().quarantined.count == 6)
    }

    @Test func secondQuarantineOfTheSameIDKeepsTheFirst() throws {
        let dir = TempDir()
        let clock = ManualClock(1_700_000_000)
        let store = try dir.openStore(clock: clock)
        let orphan = try plantOrphan(dir, modifiedAt: clock.now() - 7200)
        _ = try sweep(dir, store, clock).run()
        _ = try plantOrphanWithID(dir, orphan, modifiedAt: clock.now() - 7200)
        clock.advance(1)
        #expect(try sweep(dir, store, clock).run().quarantined.count == 1)
        #expect(FileSystemProbe.entries(dir.blobs.quarantineDirectory).count == 2)
    }
}

enum FileSystemProbe {
    static func entries(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }
}
