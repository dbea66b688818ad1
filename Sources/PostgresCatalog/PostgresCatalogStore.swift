//===----------------------------------------------------------------------===//
// ImageGate: the PostgreSQL implementation of CatalogStore (several gateway nodes on one catalog).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import PostgresClient
import Synchronization

/// `CatalogStore` on a PostgreSQL database shared by every node (Docs/catalog.md, "The PostgreSQL store").
///
/// Concurrency: a bounded `PostgresPool`; each call borrows one session for its duration, blocking the calling
/// thread (callers are event-loop threads, `OSThread`s and `DispatchQueue`s, never Swift tasks). Every write
/// runs in one transaction (`PostgresConnection.transaction`, run again on serialization failure or deadlock);
/// read-modify-writes lock the row they read (`SELECT … FOR UPDATE`), so two nodes can never both act on the
/// same state; the audit chain's tail is serialized by a transaction-level advisory lock.
public final class PostgresCatalogStore: CatalogStore {
    private let pool: PostgresPool
    private let closed = Mutex(false)
    let clock: any WallClock
    public let url: PostgresURL

    /// How long revoked serials are kept past their token's expiry (verifiers allow this much skew); the
    /// SQLite store's value.
    static let revocationSkewSeconds: Int64 = 300

    private init(pool: PostgresPool, url: PostgresURL, clock: any WallClock) {
        self.pool = pool
        self.url = url
        self.clock = clock
    }

    /// Connects, brings the schema up to date (under the migrations advisory lock, so nodes starting at once
    /// apply each step exactly once) and returns the store with a pool of at most `poolSize` sessions.
    public static func open(url: PostgresURL, poolSize: Int = 8, clock: any WallClock) throws(GateError)
        -> PostgresCatalogStore
    {
        do {
            let connection = try PostgresConnection(url: url)
            defer { connection.close() }
            try PostgresCatalogSchema.migrator().migrate(connection)
            let pool = try PostgresPool(url: url, configuration: .init(maxConnections: poolSize))
            return PostgresCatalogStore(pool: pool, url: url, clock: clock)
        } catch {
            throw Self.mapped(error)
        }
    }

    /// The one mapping of whatever a call threw to the catalog's error: the callers' own GateErrors pass
    /// unchanged, PostgreSQL's through `PostgresError.gateError` (unique violation → alreadyExists, …).
    static func mapped(_ error: any Error) -> GateError {
        switch error {
        case let e as GateError: return e
        // disk_full (class 53, insufficient resources): the same answer as SQLite's SQLITE_FULL.
        case let e as PostgresError where e.sqlState == "53100": return .catalogFull
        case let e as PostgresError: return e.gateError
        default: return .io("catalog error: \(error)")
        }
    }

    /// Runs `body` with a pooled session; the time it took (pool wait included) goes to
    /// `imagegate_catalog_seconds`.
    @discardableResult
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws(GateError) -> T {
        let started = Monotonic.nanoseconds()
        defer { ImageGateMetrics.catalogCall(seconds: Double(Monotonic.nanoseconds() - started) / 1e9) }
        guard !closed.withLock({ $0 }) else { throw .io("catalog is closed") }
        do {
            return try pool.withConnection(body)
        } catch {
            throw Self.mapped(error)
        }
    }

    /// `body` in one READ COMMITTED transaction (run again on a serialization failure or deadlock, so it must
    /// only do database work and call pure closures).
    @discardableResult
    func inTransaction<T>(_ body: (PostgresConnection) throws -> T) throws(GateError) -> T {
        try withConnection { c in try c.transaction { _ in try body(c) } }
    }

    public func close() {
        let wasOpen = closed.withLock { c in
            defer { c = true }
            return !c
        }
        if wasOpen { pool.close() }
    }

    /// Runs `body` while holding the session advisory lock that serializes first-use initialization of the
    /// catalog (the default tenant, the administrator and its first API key), on a session of its own, so
    /// that of several nodes or CLIs starting on an empty database exactly one creates them. `body` uses the
    /// store normally (other sessions). The server drops the lock if this process dies.
    public func withInitializationLock<T>(_ body: () throws(GateError) -> T) throws(GateError) -> T {
        guard !closed.withLock({ $0 }) else { throw .io("catalog is closed") }
        do {
            let connection = try PostgresConnection(url: url)
            defer { connection.close() }
            return try connection.withAdvisoryLock(PostgresCatalogLockKey.initialization) { try body() }
        } catch {
            throw Self.mapped(error)
        }
    }

    // MARK: Images

    public func insert(_ record: ImageRecord, lease: ImportLease?) throws(GateError) {
        let values = try PostgresImageRow.parameters(record)
        try inTransaction { c in
            try c.query(composed: PostgresImageRow.insert, values)
            if let lease { try Self.upsertLease(c, record.id, lease) }
        }
    }

    public func image(_ id: ImageID) throws(GateError) -> ImageRecord? {
        try withConnection { c in try Self.fetch(c, id) }
    }

    public func images(tenant: TenantID?) throws(GateError) -> [ImageRecord] {
        try withConnection { c in
            let rows = try c.query(
                composed: PostgresImageRow.select + " WHERE $1::text IS NULL OR tenant = $1 ORDER BY created_at, id",
                [.text(tenant?.description)])
            return try rows.rows.map(PostgresImageRow.decode)
        }
    }

    public func update(_ id: ImageID, _ change: (inout ImageRecord) throws(GateError) -> Void) throws(GateError)
        -> ImageRecord
    {
        let now = clock.now()
        return try inTransaction { c in
            guard let before = try Self.fetch(c, id, forUpdate: true) else {
                throw GateError.notFound("no image \(id)")
            }
            var record = before
            try change(&record)
            guard record.id == id else { throw GateError.invalid("an image's id cannot change") }
            record.vmCount = before.vmCount  // derived, never written
            if record == before { return before }
            record.updatedAt = now
            try c.query(composed: PostgresImageRow.update, try PostgresImageRow.parameters(record))
            if !record.status.isInProgress {
                // The import is over (either way): its lease has nothing left to protect.
                try c.query("DELETE FROM import_leases WHERE image_id = $1", [.text(id.description)])
            }
            return record
        }
    }

    /// The row, locked until the transaction ends when `forUpdate` (another node's read-modify-write of the
    /// same image waits for this one).
    static func fetch(_ c: PostgresConnection, _ id: ImageID, forUpdate: Bool = false) throws -> ImageRecord? {
        let sql = PostgresImageRow.select + " WHERE id = $1" + (forUpdate ? " FOR UPDATE" : "")
        return try c.query(composed: sql, [.text(id.description)]).first.map(PostgresImageRow.decode)
    }

    // MARK: Leases

    public func setLease(_ id: ImageID, _ lease: ImportLease) throws(GateError) {
        try inTransaction { c in
            guard try Self.fetch(c, id, forUpdate: true) != nil else { throw GateError.notFound("no image \(id)") }
            try Self.upsertLease(c, id, lease)
        }
    }

    public func claimLease(_ id: ImageID, _ lease: ImportLease, unless held: (ImportLease) -> Bool)
        throws(GateError) -> Bool
    {
        try inTransaction { c in
            // The image row's lock makes concurrent claimers take turns; the next one reads the winner's lease.
            guard let record = try Self.fetch(c, id, forUpdate: true) else {
                throw GateError.notFound("no image \(id)")
            }
            guard record.status.isInProgress else { return false }
            let current = try c.query(
                composed: "SELECT \(Self.leaseColumns) FROM import_leases WHERE image_id = $1", [.text(id.description)])
            if let row = current.first, held(try Self.decodeLease(row)) { return false }
            try Self.upsertLease(c, id, lease)
            return true
        }
    }

    @discardableResult
    public func renewLeases(of holder: LeaseHolder, heartbeat: Int64, expiresAt: Int64) throws(GateError) -> Int {
        try withConnection { c in
            // The holder is (node, run): the pid is not part of its identity (LeaseHolder).
            try c.query(
                "UPDATE import_leases SET heartbeat = $1, expires_at = $2 WHERE node = $3 AND run = $4",
                [.int(heartbeat), .int(expiresAt), .text(holder.node), .text(holder.run)]
            ).affectedRows
        }
    }

    private static func upsertLease(_ c: PostgresConnection, _ id: ImageID, _ lease: ImportLease) throws {
        try c.query(
            """
            INSERT INTO import_leases (image_id, pid, heartbeat, node, run, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (image_id) DO UPDATE SET pid = excluded.pid, heartbeat = excluded.heartbeat,
                node = excluded.node, run = excluded.run, expires_at = excluded.expires_at
            """,
            [
                .text(id.description), .int(Int64(lease.holder.pid)), .int(lease.heartbeat), .text(lease.holder.node),
                .text(lease.holder.run), .int(lease.expiresAt),
            ])
    }

    private static let leaseColumns = "node, pid, run, heartbeat, expires_at"

    private static func decodeLease(_ row: PostgresRow, from column: Int = 0) throws -> ImportLease {
        ImportLease(
            holder: LeaseHolder(
                node: try row.string(column), pid: Int32(truncatingIfNeeded: try row.int64(column + 1)),
                run: try row.string(column + 2)),
            heartbeat: try row.int64(column + 3), expiresAt: try row.int64(column + 4))
    }

    public func leases() throws(GateError) -> [(ImageID, ImportLease)] {
        try withConnection { c in
            let rows = try c.query(
                composed: "SELECT image_id, \(Self.leaseColumns) FROM import_leases ORDER BY image_id")
            return try rows.rows.map { row in
                let text = try row.string(0)
                guard let id = ImageID(text) else { throw PostgresImageRow.damaged("lease image id '\(text)'") }
                return (id, try Self.decodeLease(row, from: 1))
            }
        }
    }
}

/// Advisory lock keys of the catalog (one 64-bit space per database, shared with PostgresLockKey).
public enum PostgresCatalogLockKey {
    /// Held (session level) while an empty catalog gets its default tenant and administrator. ASCII "IGINITDB".
    public static let initialization: Int64 = 0x4947_494E_4954_4442
    /// Held (transaction level) by whoever appends to the audit chain. ASCII "IGAUDITC".
    public static let auditChain: Int64 = 0x4947_4155_4449_5443
}
