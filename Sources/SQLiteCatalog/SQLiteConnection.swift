//===----------------------------------------------------------------------===//
// ImageGate: a thin wrapper over one sqlite3 connection (prepare, bind, step, column).
//===----------------------------------------------------------------------===//
import CSQLite
import GateCore
import ImageCatalog

/// One open SQLite connection. Not thread-safe and deliberately not `Sendable`: the owner
/// (`SQLiteCatalogStore`) keeps it inside a `Mutex`, so every use is serialized.
final class SQLiteConnection {
    private var db: OpaquePointer?

    /// Opens (creating if needed) the database at `path`. The connection runs in SQLite's
    /// "multi-thread" mode (NOMUTEX) because the owner's lock already serializes access.
    init(path: String) throws(GateError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw .io("cannot open catalog \(path): \(message)")
        }
        db = handle
    }

    deinit { close() }

    func close() {
        // close_v2 defers the real close until every statement is finalized; statements never outlive a call.
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    private func handle() throws(GateError) -> OpaquePointer {
        guard let db else { throw .io("catalog is closed") }
        return db
    }

    func setBusyTimeout(milliseconds: Int32) throws(GateError) {
        let db = try handle()
        let rc = sqlite3_busy_timeout(db, milliseconds)
        guard rc == SQLITE_OK else { throw error(rc, "busy_timeout") }
    }

    /// Runs constant SQL (schema, pragmas, transaction control). Never pass user data here:
    /// everything that carries a value goes through `prepare` and `bind`.
    func exec(_ sql: StaticString) throws(GateError) {
        try execute(sql.description)
    }

    /// Like `exec`, for SQL assembled only from compile-time constants (migration lists, integers).
    func execute(_ sql: String) throws(GateError) {
        let db = try handle()
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard rc == SQLITE_OK else {
            throw error(rc, message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db)))
        }
    }

    func prepare(_ sql: StaticString) throws(GateError) -> SQLiteStatement {
        let db = try handle()
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql.description, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, String(cString: sqlite3_errmsg(db))) }
        return SQLiteStatement(stmt, connection: self)
    }

    /// Like `prepare(_:)`, for SQL assembled only from compile-time constant fragments (column lists, a
    /// sort column chosen from a whitelist enum). Values still go through `bind`; never pass user data here.
    func prepare(composed sql: String) throws(GateError) -> SQLiteStatement {
        let db = try handle()
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, String(cString: sqlite3_errmsg(db))) }
        return SQLiteStatement(stmt, connection: self)
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE on this connection.
    var changes: Int { db.map { Int(sqlite3_changes($0)) } ?? 0 }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back on any error.
    ///
    /// IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes can
    /// fail with SQLITE_BUSY at the write *without* the busy handler (a lock upgrade would deadlock),
    /// which is exactly the read-modify-write pattern `update` uses.
    func immediateTransaction<T>(_ body: () throws(GateError) -> T) throws(GateError) -> T {
        try exec("BEGIN IMMEDIATE")
        let result: T
        do {
            result = try body()
            try exec("COMMIT")
        } catch {
            // A failed COMMIT may leave the transaction open; a failed ROLLBACK just means none was.
            try? exec("ROLLBACK")
            throw error
        }
        return result
    }

    /// Maps a SQLite result code to the catalog's error. Busy after the timeout is reported as such so
    /// callers (CLI next to a busy server) can say "try again" rather than "corrupt".
    func error(_ rc: Int32, _ detail: String) -> GateError {
        let primary = rc & 0xff
        if primary == SQLITE_BUSY || primary == SQLITE_LOCKED { return .io("catalog busy") }
        if primary == SQLITE_FULL { return .catalogFull }
        if primary == SQLITE_CONSTRAINT, let db {
            let extended = sqlite3_extended_errcode(db)
            // SQLITE_CONSTRAINT_PRIMARYKEY / _UNIQUE: macros built from an expression, which Swift does not import.
            let primaryKey = SQLITE_CONSTRAINT | (6 << 8)
            let unique = SQLITE_CONSTRAINT | (8 << 8)
            if extended == primaryKey || extended == unique {
                return GateError(.alreadyExists, "catalog entry already exists")
            }
        }
        return .io("catalog error: \(detail)")
    }

    var lastErrorMessage: String {
        guard let db else { return "catalog is closed" }
        return String(cString: sqlite3_errmsg(db))
    }
}

/// A prepared statement. Finalized on deinit; used within one store call only.
final class SQLiteStatement {
    private let stmt: OpaquePointer
    private let connection: SQLiteConnection

    fileprivate init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    // MARK: Binding (1-based indexes, as in SQLite)

    func bind(_ index: Int32, _ value: String) throws(GateError) {
        // Bound as UTF-8 with SQLITE_TRANSIENT: SQLite copies the bytes before the Swift buffer goes away.
        // The explicit byte count keeps text with an embedded NUL intact.
        let rc = sqlite3_bind_text(stmt, index, value, Int32(value.utf8.count), CSQLite_transient())
        try check(rc, "bind")
    }

    func bind(_ index: Int32, _ value: String?) throws(GateError) {
        guard let value else { return try bindNull(index) }
        try bind(index, value)
    }

    func bind(_ index: Int32, _ value: Int64) throws(GateError) {
        try check(sqlite3_bind_int64(stmt, index, value), "bind")
    }

    func bind(_ index: Int32, _ value: Int64?) throws(GateError) {
        guard let value else { return try bindNull(index) }
        try bind(index, value)
    }

    func bind(_ index: Int32, _ value: Double?) throws(GateError) {
        guard let value else { return try bindNull(index) }
        try check(sqlite3_bind_double(stmt, index, value), "bind")
    }

    func bindNull(_ index: Int32) throws(GateError) {
        try check(sqlite3_bind_null(stmt, index), "bind")
    }

    // MARK: Stepping

    /// Makes the statement ready to run again (bindings are replaced by the next `bind`).
    func reset() throws(GateError) {
        try check(sqlite3_reset(stmt), "reset")
    }

    /// Advances the statement; true when a row is available.
    @discardableResult
    func step() throws(GateError) -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc, connection.lastErrorMessage)
        }
    }

    // MARK: Columns (0-based indexes, as in SQLite)

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }

    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : sqlite3_column_double(stmt, column) }

    func string(_ column: Int32) -> String {
        // Read by byte count, not as a C string, so text containing NUL round-trips intact.
        guard let p = sqlite3_column_text(stmt, column) else { return "" }
        let n = Int(sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }

    private func check(_ rc: Int32, _ what: String) throws(GateError) {
        guard rc == SQLITE_OK else { throw connection.error(rc, "\(what): \(connection.lastErrorMessage)") }
    }
}
