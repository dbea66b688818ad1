//===----------------------------------------------------------------------===//
// ImageGate: SQLite-only tests of SQLiteCatalogStore (file format, what an outside reader sees, locking);
// what every store must do is in Tests/CatalogConformanceTests, which runs on SQLite always.
//===----------------------------------------------------------------------===//
import CSQLite
import Foundation
import Glibc
import GateCore
@testable import ImageCatalog
@testable import SQLiteCatalog
import Testing

@Suite struct StoreTests {
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
