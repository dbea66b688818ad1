//===----------------------------------------------------------------------===//
// ImageGate: the SQLite implementation of CatalogStore (embedded, single-node deployments).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CSQLite
import GateCore
import ImageCatalog
import Synchronization
import SystemIO

/// `CatalogStore` on one SQLite file, shared by the server and CLI processes.
///
/// Concurrency: within a process, one connection guarded by a `Mutex` (calls are short; downloads
/// never hold it). Across processes, SQLite's file locks: WAL mode lets readers run beside the one
/// writer, and `busy_timeout` makes a writer wait up to 5 s for another process's transaction.
public final class SQLiteCatalogStore: CatalogStore {
    /// nil once closed. The connection is not `Sendable`; the mutex is what makes sharing it safe.
    private let connection: Mutex<SQLiteConnection?>
    let clock: any WallClock
    public let path: String

    /// How long revoked serials are kept past their token's expiry (verifiers allow this much skew).
    static let revocationSkewSeconds: Int64 = 300

    private init(connection: consuming sending SQLiteConnection, clock: any WallClock, path: String) {
        self.connection = Mutex(connection)
        self.clock = clock
        self.path = path
    }

    /// Opens or creates the catalog at `path`: creates the parent directory (0700) and the file (0600),
    /// then WAL, synchronous=FULL (a returned commit survives power loss), busy_timeout 5000 ms,
    /// foreign_keys ON, and runs pending migrations.
    public static func open(path: String, clock: any WallClock) throws(GateError) -> SQLiteCatalogStore {
        let parent = FileSystem.parentDirectory(of: path)
        try FileSystem.makeDirectories(parent)
        try createPrivateFile(path)
        let db = try SQLiteConnection(path: path)
        try db.setBusyTimeout(milliseconds: 5000)
        try db.exec("PRAGMA journal_mode = WAL")
        try db.exec("PRAGMA synchronous = FULL")
        try db.exec("PRAGMA foreign_keys = ON")
        try CatalogSchema.migrate(db)
        return SQLiteCatalogStore(connection: db, clock: clock, path: path)
    }

    /// SQLite would create the file with the umask's mode (often 0644); the catalog is private to the
    /// service account, and SQLite gives the -wal/-shm files the main file's mode.
    private static func createPrivateFile(_ path: String) throws(GateError) {
        do {
            Sys.close(try FileIO.open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode: 0o600))
        } catch {
            throw FileSystem.error("cannot create catalog \(path)", errno: error.errno)
        }
    }

    deinit { close() }

    public func close() {
        connection.withLock { conn in
            conn?.close()
            conn = nil
        }
    }

    /// Runs `body` with the connection under the lock; the time it took (lock wait included) goes to
    /// `imagegate_catalog_seconds`.
    func withConnection<T: Sendable>(_ body: (SQLiteConnection) throws(GateError) -> T) throws(GateError) -> T {
        let started = Monotonic.nanoseconds()
        defer { ImageGateMetrics.catalogCall(seconds: Double(Monotonic.nanoseconds() - started) / 1e9) }
        return try connection.withLock { (conn: inout SQLiteConnection?) throws(GateError) -> T in
            guard let db = conn else { throw .io("catalog is closed") }
            return try body(db)
        }
    }

    // MARK: Images

    public func insert(_ record: ImageRecord, lease: ImportLease?) throws(GateError) {
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) in
                let stmt = try db.prepare(composed: ImageRow.insert)
                try ImageRow.bind(record, to: stmt)
                try stmt.step()
                if let lease { try Self.upsertLease(db, record.id, lease) }
            }
        }
    }

    public func image(_ id: ImageID) throws(GateError) -> ImageRecord? {
        try withConnection { db throws(GateError) in try Self.fetch(db, id) }
    }

    public func images(tenant: TenantID?) throws(GateError) -> [ImageRecord] {
        try withConnection { db throws(GateError) in
            let stmt: SQLiteStatement
            if let tenant {
                stmt = try db.prepare(composed: ImageRow.select + " WHERE tenant = ?1 ORDER BY created_at, id")
                try stmt.bind(1, tenant.description)
            } else {
                stmt = try db.prepare(composed: ImageRow.select + " ORDER BY created_at, id")
            }
            var out: [ImageRecord] = []
            while try stmt.step() { out.append(try ImageRow.decode(stmt)) }
            return out
        }
    }

    public func update(_ id: ImageID, _ change: (inout ImageRecord) throws(GateError) -> Void) throws(GateError)
        -> ImageRecord
    {
        let now = clock.now()
        return try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) -> ImageRecord in
                guard let before = try Self.fetch(db, id) else { throw .notFound("no image \(id)") }
                var record = before
                try change(&record)
                guard record.id == id else { throw .invalid("an image's id cannot change") }
                record.vmCount = before.vmCount  // derived, never written
                if record == before { return before }
                record.updatedAt = now
                let stmt = try db.prepare(composed: ImageRow.update)
                try ImageRow.bind(record, to: stmt)
                try stmt.step()
                if !record.status.isInProgress {
                    // The import is over (either way): its lease has nothing left to protect.
                    let drop = try db.prepare("DELETE FROM import_leases WHERE image_id = ?1")
                    try drop.bind(1, id.description)
                    try drop.step()
                }
                return record
            }
        }
    }

    static func fetch(_ db: SQLiteConnection, _ id: ImageID) throws(GateError) -> ImageRecord? {
        let stmt = try db.prepare(composed: ImageRow.select + " WHERE id = ?1")
        try stmt.bind(1, id.description)
        guard try stmt.step() else { return nil }
        return try ImageRow.decode(stmt)
    }

    // MARK: Leases

    public func setLease(_ id: ImageID, _ lease: ImportLease) throws(GateError) {
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) in
                guard try Self.fetch(db, id) != nil else { throw .notFound("no image \(id)") }
                try Self.upsertLease(db, id, lease)
            }
        }
    }

    public func claimLease(_ id: ImageID, _ lease: ImportLease, unless held: (ImportLease) -> Bool)
        throws(GateError) -> Bool
    {
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) -> Bool in
                guard let record = try Self.fetch(db, id) else { throw .notFound("no image \(id)") }
                guard record.status.isInProgress else { return false }
                let stmt = try db.prepare(
                    composed: "SELECT \(Self.leaseColumns) FROM import_leases WHERE image_id = ?1")
                try stmt.bind(1, id.description)
                if try stmt.step(), held(Self.decodeLease(stmt)) { return false }
                try Self.upsertLease(db, id, lease)
                return true
            }
        }
    }

    @discardableResult
    public func renewLeases(of holder: LeaseHolder, heartbeat: Int64, expiresAt: Int64) throws(GateError) -> Int {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                "UPDATE import_leases SET heartbeat = ?1, expires_at = ?2 WHERE node = ?3 AND run = ?4")
            // The holder is (node, run): the pid is not part of its identity (LeaseHolder).
            try stmt.bind(1, heartbeat)
            try stmt.bind(2, expiresAt)
            try stmt.bind(3, holder.node)
            try stmt.bind(4, holder.run)
            try stmt.step()
            return db.changes
        }
    }

    private static func upsertLease(_ db: SQLiteConnection, _ id: ImageID, _ lease: ImportLease) throws(GateError) {
        let stmt = try db.prepare(
            """
            INSERT INTO import_leases (image_id, pid, heartbeat, node, run, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            ON CONFLICT (image_id) DO UPDATE SET pid = excluded.pid, heartbeat = excluded.heartbeat,
                node = excluded.node, run = excluded.run, expires_at = excluded.expires_at
            """)
        try stmt.bind(1, id.description)
        try stmt.bind(2, Int64(lease.holder.pid))
        try stmt.bind(3, lease.heartbeat)
        try stmt.bind(4, lease.holder.node)
        try stmt.bind(5, lease.holder.run)
        try stmt.bind(6, lease.expiresAt)
        try stmt.step()
    }

    private static let leaseColumns = "node, pid, run, heartbeat, expires_at"

    private static func decodeLease(_ stmt: SQLiteStatement, from column: Int32 = 0) -> ImportLease {
        ImportLease(
            holder: LeaseHolder(
                node: stmt.string(column), pid: Int32(truncatingIfNeeded: stmt.int64(column + 1)),
                run: stmt.string(column + 2)),
            heartbeat: stmt.int64(column + 3), expiresAt: stmt.int64(column + 4))
    }

    public func leases() throws(GateError) -> [(ImageID, ImportLease)] {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                composed: "SELECT image_id, \(Self.leaseColumns) FROM import_leases ORDER BY image_id")
            var out: [(ImageID, ImportLease)] = []
            while try stmt.step() {
                let text = stmt.string(0)
                guard let id = ImageID(text) else { throw .io("catalog is damaged: bad lease image id '\(text)'") }
                out.append((id, Self.decodeLease(stmt, from: 1)))
            }
            return out
        }
    }
}
