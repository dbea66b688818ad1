//===----------------------------------------------------------------------===//
// ImageGate: the SQLite catalog's answers to /readyz and /metrics (CatalogHealth).
//===----------------------------------------------------------------------===//
import CSQLite
import GateCore
import ImageCatalog

extension SQLiteCatalogStore {
    /// Opens the catalog file afresh (read-only, never creating it) and reads the images table. The serving
    /// connection keeps working on an open descriptor even after its file vanished from the path (a moved
    /// or unmounted data directory); a fresh open notices, as does a file that is no database anymore or a
    /// lock held past the timeout. Only through SQLite, never a raw open/close of the file: closing any
    /// descriptor of it drops this process's POSIX locks on it, the serving connection's included (SQLite's VFS
    /// shares one descriptor per file among connections to avoid exactly that; Docs/operations.md).
    public func readinessProbe(timeoutMs: Int32) throws(GateError) {
        // A closed store answers nothing, whatever the file says (the CatalogStore contract).
        try withConnection { _ throws(GateError) in }
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        defer { sqlite3_close_v2(handle) }
        guard rc == SQLITE_OK, let db = handle else {
            throw .io("cannot open \(path): \(handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory")")
        }
        sqlite3_busy_timeout(db, timeoutMs)
        var stmt: OpaquePointer?
        defer { sqlite3_finalize(stmt) }
        var step = sqlite3_prepare_v2(db, "SELECT count(*) FROM (SELECT 1 FROM images LIMIT 1)", -1, &stmt, nil)
        if step == SQLITE_OK { step = sqlite3_step(stmt) }
        guard step == SQLITE_ROW else { throw .io("\(path): \(String(cString: sqlite3_errmsg(db)))") }
    }

    public func imageTotals() throws(GateError) -> [(status: String, images: Int64, bytes: Int64)] {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare("SELECT status, count(*), coalesce(sum(size), 0) FROM images GROUP BY status")
            var out: [(status: String, images: Int64, bytes: Int64)] = []
            while try stmt.step() { out.append((stmt.string(0), stmt.int64(1), stmt.int64(2))) }
            return out
        }
    }
}
