//===----------------------------------------------------------------------===//
// ImageGate: the one narrow storage interface of the catalog (SQLite now, PostgreSQL later).
//===----------------------------------------------------------------------===//
import GateCore

/// The catalog's storage interface. Everything above it (import, recovery, API, CLI) talks to this
/// protocol only, so a PostgreSQL store for multi-node deployments can replace `SQLiteCatalogStore`.
///
/// Contract (see Docs/catalog.md for the full text):
/// - All methods are blocking and thread-safe; callers never run them on Swift's cooperative pool.
/// - Every method is atomic: it fully happens or (when it throws) not at all.
/// - A write that returned is durable (survives power loss) and visible to every other process or
///   node using the same catalog.
/// - Errors are `GateError`: `.notFound` for a missing image in `update`, `.alreadyExists` for a
///   duplicate id in `insert`, `.io` for storage problems ("catalog busy" when a lock wait timed out).
public protocol CatalogStore: AnyObject, Sendable {
    /// Inserts a new image row and, when given, its import lease, in one transaction: an in-progress
    /// row never exists without its owner, so recovery can treat a lease-less `uploading` row as orphaned.
    func insert(_ record: ImageRecord, lease: ImportLease?) throws(GateError)

    func image(_ id: ImageID) throws(GateError) -> ImageRecord?

    /// nil = all tenants. Ordered by createdAt, then id.
    func images(tenant: TenantID?) throws(GateError) -> [ImageRecord]

    /// Read-modify-write in one transaction (BEGIN IMMEDIATE in SQLite, SELECT … FOR UPDATE in
    /// PostgreSQL); throws notFound if absent; returns the stored result.
    ///
    /// The store stamps `updatedAt` with its clock when the record changed; a closure that changes
    /// nothing writes nothing. The id is immutable. When the resulting status is not in progress
    /// (`making`/`uploading`) the import lease is deleted in the same transaction.
    /// An error thrown by `change` rolls everything back and is rethrown unchanged.
    func update(_ id: ImageID, _ change: (inout ImageRecord) throws(GateError) -> Void) throws(GateError)
        -> ImageRecord

    /// Records a minted token. Recording the same serial twice is `.alreadyExists`.
    func recordTokenIssue(_ issue: TokenIssue) throws(GateError)

    /// Whether `serial` is on the deny-list.
    func isRevoked(serial: ID128) throws(GateError) -> Bool

    /// Puts `serial` on the deny-list until its token's `expiresAt` (plus clock skew); idempotent.
    /// Entries whose tokens have long expired are pruned so the list stays bounded.
    func revoke(serial: ID128, expiresAt: Int64) throws(GateError)

    /// Import leases: which process owns an in-progress import (pid + heartbeat), for crash recovery.
    /// Creates or refreshes the lease; throws notFound if the image row does not exist.
    func setLease(_ id: ImageID, pid: Int32, heartbeat: Int64) throws(GateError)

    func leases() throws(GateError) -> [(ImageID, pid: Int32, heartbeat: Int64)]

    /// Releases the connection. Later calls throw `.io("catalog is closed")`. Idempotent.
    func close()
}

extension CatalogStore {
    /// Inserts a row with no lease (rows that are not being imported).
    public func insert(_ record: ImageRecord) throws(GateError) {
        try insert(record, lease: nil)
    }
}
