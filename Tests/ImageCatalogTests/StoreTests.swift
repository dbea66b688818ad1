//===----------------------------------------------------------------------===//
// ImageGate: tests of SQLiteCatalogStore (CRUD, transactions, two processes, revocation).
//===----------------------------------------------------------------------===//
import CSQLite
import Foundation
import Glibc
import GateCore
@testable import ImageCatalog
@testable import SQLiteCatalog
import Testing

@Suite struct StoreTests {
    @Test func crudRoundTrip() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let a = sampleRecord(name: "first", createdAt: 100)
        var b = sampleRecord(name: "second", status: .failed, createdAt: 50)
        b.failureReason = "boom"
        b.size = UInt64(Int64.max)  // the largest size a signed 64-bit column holds
        try store.insert(a)
        try store.insert(b)
        #expect(try store.image(a.id) == a)
        #expect(try store.image(b.id) == b)
        #expect(try store.image(ImageRecord.newID()) == nil)
        #expect(try store.images(tenant: nil) == [b, a])  // createdAt order
        #expect(try store.images(tenant: .defaultTenant).count == 2)
        #expect(try store.images(tenant: TenantID(ID128(high: 9, low: 9))).isEmpty)
        let err = #expect(throws: GateError.self) { try store.insert(a) }
        #expect(err?.code == .alreadyExists)
        var huge = sampleRecord()
        huge.size = UInt64(Int64.max) + 1
        let tooBig = #expect(throws: GateError.self) { try store.insert(huge) }
        #expect(tooBig?.code == .invalidRequest)
        #expect(try store.image(huge.id) == nil)
    }

    @Test func listOrderTiesBreakOnID() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let records = (0..<5).map { _ in sampleRecord(createdAt: 7) }
        for r in records { try store.insert(r) }
        #expect(try store.images(tenant: nil).map(\.id) == records.map(\.id).sorted())
    }

    @Test func tenantFilter() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let other = TenantID(ID128(high: 1, low: 2))
        let mine = sampleRecord(name: "mine")
        let theirs = sampleRecord(name: "theirs", tenant: other)
        try store.insert(mine)
        try store.insert(theirs)
        #expect(try store.images(tenant: other) == [theirs])
        #expect(try store.images(tenant: .defaultTenant) == [mine])
    }

    @Test func updateSemantics() throws {
        let dir = TempDir()
        let clock = ManualClock(5000)
        let store = try dir.openStore(clock: clock)
        let record = sampleRecord(createdAt: 100)
        try store.insert(record)

        clock.set(6000)
        let updated = try store.update(record.id) { r throws(GateError) in
            r.remarks = "new remarks"
            r.generation += 1
        }
        #expect(updated.remarks == "new remarks")
        #expect(updated.generation == record.generation + 1)
        #expect(updated.updatedAt == 6000)  // stamped by the store
        #expect(try store.image(record.id) == updated)

        // A no-op change writes nothing (updatedAt stays).
        clock.set(7000)
        let same = try store.update(record.id) { _ throws(GateError) in }
        #expect(same == updated)

        // An error from the closure rolls back and is rethrown unchanged.
        let err = #expect(throws: GateError.self) {
            try store.update(record.id) { r throws(GateError) in
                r.name = "half-done"
                throw .conflict("nope")
            }
        }
        #expect(err == GateError.conflict("nope"))
        #expect(try store.image(record.id) == updated)

        // Missing row: notFound. Changing the id: refused.
        let missing = #expect(throws: GateError.self) {
            try store.update(ImageRecord.newID()) { _ throws(GateError) in }
        }
        #expect(missing?.code == .notFound)
        let idChange = #expect(throws: GateError.self) {
            try store.update(record.id) { r throws(GateError) in r.id = ImageRecord.newID() }
        }
        #expect(idChange?.code == .invalidRequest)
        #expect(try store.image(record.id) == updated)
    }

    @Test func leasesFollowTheImport() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let record = sampleRecord(status: .uploading)
        let first = ImportLease(holder: LeaseHolder(node: "n1", pid: 42, run: "r1"), heartbeat: 10)
        try store.insert(record, lease: first)
        var leases = try store.leases()
        #expect(leases.count == 1 && leases[0].0 == record.id && leases[0].1 == first)
        #expect(first.expiresAt == 10 + ImportLease.lifetime)
        let second = ImportLease(holder: LeaseHolder(node: "n2", pid: 43, run: "r2"), heartbeat: 20)
        try store.setLease(record.id, second)
        leases = try store.leases()
        #expect(leases.count == 1 && leases[0].1 == second)
        let missing = #expect(throws: GateError.self) { try store.setLease(ImageRecord.newID(), second) }
        #expect(missing?.code == .notFound)
        // Leaving the in-progress statuses releases the lease in the same transaction.
        _ = try store.update(record.id) { r throws(GateError) in r.status = .failed }
        #expect(try store.leases().isEmpty)
    }

    @Test func twoInstancesShareOneFile() throws {
        // A server and a CLI process: two connections on the same file, each seeing the other's commits.
        let dir = TempDir()
        let server = try dir.openStore()
        let cli = try dir.openStore()
        let fromCLI = sampleRecord(name: "from cli")
        try cli.insert(fromCLI)
        #expect(try server.image(fromCLI.id) == fromCLI)
        let changed = try server.update(fromCLI.id) { r throws(GateError) in r.remarks = "server was here" }
        #expect(try cli.image(fromCLI.id) == changed)
        try server.revoke(serial: ID128(high: 1, low: 1), expiresAt: 2_000_000_000)
        #expect(try cli.isRevoked(serial: ID128(high: 1, low: 1)))
        cli.close()
        #expect(try server.images(tenant: nil).count == 1)
    }

    @Test func walAndUserVersionAreSet() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        store.close()
        // Reopening an up-to-date file is a no-op migration.
        let again = try dir.openStore()
        again.close()
        #expect(try sqliteScalar(dir.catalogPath, "PRAGMA journal_mode") == "wal")
        #expect(try sqliteScalar(dir.catalogPath, "PRAGMA user_version") == String(CatalogSchema.migrations.count))
        #expect(CatalogSchema.migrations.count == 8)
        #expect(fileMode(dir.catalogPath) == 0o600)
    }

    @Test func closedStoreThrows() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        store.close()
        store.close()  // idempotent
        let err = #expect(throws: GateError.self) { try store.images(tenant: nil) }
        #expect(err?.code == .io)
    }

    @Test(arguments: [
        "Robert'); DROP TABLE images;--", "\"quoted\" % _ * ? ?1 :name @x $y", "Ubuntu 日本語 🚀 Ελληνικά",
        "e\u{301}cole (combining)", "back\\slash ' '' ;",
    ])
    func metacharactersAndUnicodeRoundTrip(_ name: String) throws {
        let dir = TempDir()
        let store = try dir.openStore()
        var record = sampleRecord(name: name)
        record.remarks = name + " / " + name
        record.failureReason = name
        try store.insert(record)
        let back = try #require(try store.image(record.id))
        #expect(back.name.unicodeScalars.elementsEqual(name.unicodeScalars))
        #expect(back.remarks.unicodeScalars.elementsEqual(record.remarks.unicodeScalars))
        #expect(back == record)
        #expect(try store.images(tenant: nil).count == 1)  // the table is still there
    }

    @Test func revocation() throws {
        let dir = TempDir()
        let clock = ManualClock(1_000_000)
        let store = try dir.openStore(clock: clock)
        let serial = ID128(high: 0xDEAD, low: 0xBEEF)
        #expect(try store.isRevoked(serial: serial) == false)
        try store.revoke(serial: serial, expiresAt: 1_000_100)
        try store.revoke(serial: serial, expiresAt: 1_000_050)  // idempotent, keeps the later expiry
        #expect(try store.isRevoked(serial: serial))
        #expect(try store.isRevoked(serial: ID128(high: 0xDEAD, low: 0)) == false)
        // Long after expiry (+ skew), revoking something else prunes the old entry.
        clock.set(1_100_000)
        let other = ID128(high: 1, low: 2)
        try store.revoke(serial: other, expiresAt: 1_100_100)
        #expect(try store.isRevoked(serial: serial) == false)
        #expect(try store.isRevoked(serial: other))
    }

    @Test func tokenIssues() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let issue = TokenIssue(
            serial: ID128(high: 5, low: 6), image: ImageRecord.newID(), tenant: .defaultTenant, issuedAt: 10,
            expiresAt: 20, protocols: 0b111, minter: "cli 'admin'")
        try store.recordTokenIssue(issue)
        let err = #expect(throws: GateError.self) { try store.recordTokenIssue(issue) }
        #expect(err?.code == .alreadyExists)
        #expect(try sqliteScalar(dir.catalogPath, "SELECT minter FROM token_issues") == "cli 'admin'")
    }
}

/// Reads one value with a separate raw connection, as an outside observer (e.g. the sqlite3 shell).
func sqliteScalar(_ path: String, _ sql: String) throws -> String? {
    var db: OpaquePointer?
    guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else { return nil }
    defer { sqlite3_close_v2(db) }
    var stmt: OpaquePointer?
    guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { return nil }
    defer { sqlite3_finalize(stmt) }
    guard sqlite3_step(stmt) == SQLITE_ROW, let text = sqlite3_column_text(stmt, 0) else { return nil }
    return String(cString: text)
}

/// Busy handling across processes: another connection holds the write lock.
@Suite struct StoreLockingTests {
    /// Opens a raw connection and takes the write lock, as another process's transaction would.
    final class LockHolder: @unchecked Sendable {
        // Used from one thread at a time (taken here, released by whoever holds the value): safe.
        var db: OpaquePointer?
        init(_ path: String) {
            sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil)
            sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil)
        }
        func release() {
            sqlite3_exec(db, "COMMIT", nil, nil, nil)
            sqlite3_close_v2(db)
            db = nil
        }
    }

    @Test func writerWaitsForAShortLock() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let holder = LockHolder(dir.catalogPath)
        let releaser = Thread {
            usleep(300_000)
            holder.release()
        }
        releaser.start()
        let record = sampleRecord()
        try store.insert(record)  // waits (busy_timeout) instead of failing
        #expect(try store.image(record.id) == record)
    }

    @Test func longLockReportsCatalogBusy() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let holder = LockHolder(dir.catalogPath)
        defer { holder.release() }
        // Readers are not blocked by a writer in WAL mode.
        #expect(try store.images(tenant: nil).isEmpty)
        let err = #expect(throws: GateError.self) { try store.insert(sampleRecord()) }
        #expect(err == GateError.io("catalog busy"))
    }
}
