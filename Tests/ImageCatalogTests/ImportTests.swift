//===----------------------------------------------------------------------===//
// ImageGate: tests of LocalImporter (happy path, hashing, modes, failures).
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import Glibc
import ImageCatalog
import SQLiteCatalog
import Testing

@Suite struct ImportTests {
    @Test func importsASmallRandomFile() throws {
        let dir = TempDir()
        let clock = ManualClock(1_700_000_000)
        let store = try dir.openStore(clock: clock)
        let bytes = randomBytes(3 * 1024 * 1024 + 17)  // several 1 MiB chunks plus a tail
        let source = dir.write("source.bin", bytes)
        var seen: [ImportProgress] = []
        let importer = LocalImporter(store: store, blobs: dir.blobs, clock: clock)

        let record = try importer.importFile(path: source, name: "  My Disk  ", tenant: .defaultTenant) {
            seen.append($0)
        }

        #expect(record.status == .available)
        #expect(record.name == "My Disk")
        #expect(record.fileName == "My_Disk.img")
        #expect(record.format == .raw)
        #expect(record.size == UInt64(bytes.count))
        #expect(record.sha256 == (try sha256sum(source)))
        #expect(record.generation == 1)
        #expect(record.finalizedAt == 1_700_000_000)
        #expect(record.failureReason == nil)
        #expect(try store.image(record.id) == record)
        #expect(try store.leases().isEmpty)

        let blob = dir.blobs.path(for: record.id)
        #expect(readAll(blob) == bytes)
        #expect(fileMode(blob) == 0o600)
        #expect(fileMode(dir.blobs.blobDirectory) == 0o700)
        #expect(fileMode(dir.blobs.stagingDirectory) == 0o700)
        #expect(dir.blobs.stagingFiles().isEmpty)

        #expect(seen.last == ImportProgress(bytes: UInt64(bytes.count), total: UInt64(bytes.count)))
        #expect(seen.map(\.bytes) == seen.map(\.bytes).sorted())
    }

    @Test func sniffsQcow2AndISO() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let importer = LocalImporter(store: store, blobs: dir.blobs, clock: ManualClock(1))

        var qcow = randomBytes(70_000)
        qcow.replaceSubrange(0..<4, with: [0x51, 0x46, 0x49, 0xFB])
        let q = try importer.importFile(path: dir.write("q", qcow), name: "cirros", tenant: .defaultTenant)
        #expect(q.format == .qcow2 && q.fileName == "cirros.qcow2")

        var iso = [UInt8](repeating: 0, count: 0x9000)
        iso.replaceSubrange(0x8001..<0x8006, with: Array("CD001".utf8))
        let i = try importer.importFile(path: dir.write("i", iso), name: "netinst.iso", tenant: .defaultTenant)
        #expect(i.format == .iso && i.fileName == "netinst.iso")
        #expect(try store.images(tenant: nil).map(\.status) == [.available, .available])
    }

    @Test func duplicateNamesGetDistinctIDs() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let importer = LocalImporter(store: store, blobs: dir.blobs, clock: ManualClock(1))
        let path = dir.write("src", randomBytes(100))
        let a = try importer.importFile(path: path, name: "same", tenant: .defaultTenant)
        let b = try importer.importFile(path: path, name: "same", tenant: .defaultTenant)
        #expect(a.id != b.id && a.sha256 == b.sha256)
    }

    @Test func refusedSources() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let importer = LocalImporter(store: store, blobs: dir.blobs, clock: ManualClock(1))
        let empty = dir.write("empty", [])
        mkfifo(dir.path + "/fifo", 0o600)
        let cases: [(String, GateError.Code)] = [
            (dir.path + "/does-not-exist", .notFound),
            (dir.path, .invalidRequest),  // a directory
            (empty, .invalidRequest),
            (dir.path + "/fifo", .invalidRequest),  // must not hang waiting for a writer
            ("/dev/null", .invalidRequest),
        ]
        for (path, code) in cases {
            let err = #expect(throws: GateError.self) {
                try importer.importFile(path: path, name: "x", tenant: .defaultTenant)
            }
            #expect(err?.code == code, "\(path)")
        }
        let badName = #expect(throws: GateError.self) {
            try importer.importFile(path: dir.write("ok", [1]), name: "a\u{7}b", tenant: .defaultTenant)
        }
        #expect(badName?.code == .invalidRequest)
        #expect(try store.images(tenant: nil).isEmpty)
        #expect(dir.blobs.stagingFiles().isEmpty)
    }

    @Test func failureAfterTheRowExistsMarksItFailed() throws {
        // The blob store root is a regular file, so creating the staging directory fails mid-import.
        let dir = TempDir()
        let store = try dir.openStore()
        let badRoot = dir.write("not-a-dir", [0])
        let importer = LocalImporter(store: store, blobs: BlobStore(root: badRoot), clock: ManualClock(1))
        let err = #expect(throws: GateError.self) {
            try importer.importFile(path: dir.write("src", randomBytes(10)), name: "doomed", tenant: .defaultTenant)
        }
        #expect(err != nil)
        let rows = try store.images(tenant: nil)
        #expect(rows.count == 1)
        #expect(rows.first?.status == .failed)
        #expect(rows.first?.failureReason?.hasPrefix("import failed: ") == true)
        #expect(try store.leases().isEmpty)
    }

    @Test func recoveryVerdictIsNotOverwritten() throws {
        // If recovery (another process) declared the import dead, finalize must not resurrect the row.
        let dir = TempDir()
        let store = try dir.openStore()
        let importer = LocalImporter(store: store, blobs: dir.blobs, clock: ManualClock(1))
        let source = dir.write("src", randomBytes(2 * 1024 * 1024))
        var failedOnce = false
        let err = #expect(throws: GateError.self) {
            try importer.importFile(path: source, name: "raced", tenant: .defaultTenant) { _ in
                guard !failedOnce, let row = try? store.images(tenant: nil).first else { return }
                failedOnce = true
                _ = try? store.update(row.id) { r throws(GateError) in
                    r.status = .failed
                    r.failureReason = CatalogRecovery.interruptedReason
                }
            }
        }
        #expect(err?.code == .conflict)
        let row = try #require(try store.images(tenant: nil).first)
        #expect(row.status == .failed && row.failureReason == CatalogRecovery.interruptedReason)
        #expect(dir.blobs.blobSize(row.id) == nil)
        #expect(dir.blobs.stagingFiles().isEmpty)
    }
}
