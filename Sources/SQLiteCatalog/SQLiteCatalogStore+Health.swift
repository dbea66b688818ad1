//===----------------------------------------------------------------------===//
// ImageGate: the SQLite catalog's answers to /readyz and /metrics (CatalogHealth).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CSQLite
import GateCore
import ImageCatalog
import Synchronization

extension SQLiteCatalogStore {
    /// Checks what the serving connection cannot see: it keeps working on an open descriptor even after its
    /// file vanished from the path (a moved or unmounted data directory). Each round opens the path afresh
    /// (`open(2)`: a missing file fails here), checks the SQLite header (a file that is no database anymore),
    /// and reads the images table through the probe's own read-only connection (a lock held past the timeout).
    /// That connection is kept while the path names the file it opened: opening one each second parsed the
    /// whole schema every time (Docs/operations.md, "What counting costs").
    public func readinessProbe(timeoutMs: Int32) throws(GateError) {
        // A closed store answers nothing, whatever the file says (the CatalogStore contract).
        try withConnection { _ throws(GateError) in }
        try probe.check(path: path, timeoutMs: timeoutMs)
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

/// The readiness probe's read-only connection and its one statement, with the file (device, inode) it opened.
/// Used only under `ReadinessProbe`'s lock.
private final class ProbeConnection {
    let db: OpaquePointer
    let stmt: OpaquePointer
    let file: (device: UInt64, inode: UInt64)

    init(path: String, file: (device: UInt64, inode: UInt64), timeoutMs: Int32) throws(GateError) {
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db = handle else {
            defer { sqlite3_close_v2(handle) }
            throw .io("cannot open \(path): \(handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory")")
        }
        sqlite3_busy_timeout(db, timeoutMs)
        var stmt: OpaquePointer?
        guard
            sqlite3_prepare_v2(db, "SELECT count(*) FROM (SELECT 1 FROM images LIMIT 1)", -1, &stmt, nil) == SQLITE_OK,
            let stmt
        else {
            defer { sqlite3_close_v2(db) }
            throw .io("\(path): \(String(cString: sqlite3_errmsg(db)))")
        }
        self.db = db
        self.stmt = stmt
        self.file = file
    }

    deinit {
        sqlite3_finalize(stmt)
        sqlite3_close_v2(db)
    }

    /// One read of the images table; the statement is reset so no read transaction outlives the round.
    func query(path: String) throws(GateError) {
        defer { sqlite3_reset(stmt) }
        guard sqlite3_step(stmt) == SQLITE_ROW else { throw .io("\(path): \(String(cString: sqlite3_errmsg(db)))") }
    }
}

/// The state of `SQLiteCatalogStore.readinessProbe` between rounds.
final class ReadinessProbe: Sendable {
    private let kept = Mutex<ProbeConnection?>(nil)
    /// Connections opened so far (a test reads it: one while the catalog file stays where it is).
    let opened = Atomic<Int>(0)

    /// The first 16 bytes of every SQLite 3 database file.
    static let header = Array("SQLite format 3\0".utf8)

    func close() { kept.withLock { $0 = nil } }

    func check(path: String, timeoutMs: Int32) throws(GateError) {
        try kept.withLock { (kept: inout ProbeConnection?) throws(GateError) in
            do throws(GateError) {
                let file = try Self.identify(path)
                if let k = kept, k.file != file { kept = nil }
                if kept == nil {
                    kept = try ProbeConnection(path: path, file: file, timeoutMs: timeoutMs)
                    opened.add(1, ordering: .relaxed)
                }
                try kept?.query(path: path)
            } catch {
                kept = nil  // whatever failed, the next round starts from a fresh open
                throw error
            }
        }
    }

    /// The (device, inode) of the file at `path` if it starts like an SQLite database; throws otherwise.
    static func identify(_ path: String) throws(GateError) -> (device: UInt64, inode: UInt64) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var st = stat()
        var head = [UInt8](repeating: 0, count: header.count)
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        // An empty file is left to SQLite (an empty database: the query then finds no images table).
        guard fstat(fd, &st) == 0, n >= 0, n == 0 || (n == header.count && head == header) else {
            throw .io("\(path): file is not a database")
        }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }
}
