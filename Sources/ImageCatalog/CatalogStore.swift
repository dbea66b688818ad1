//===----------------------------------------------------------------------===//
// ImageGate: the one narrow storage interface of the catalog (SQLite now, PostgreSQL later).
//===----------------------------------------------------------------------===//
import GateCore

/// The catalog's storage interface. Everything above it (import, recovery, API, CLI) talks to this
/// protocol only: `SQLiteCatalogStore` (the embedded default, target SQLiteCatalog) and the PostgreSQL store
/// of multi-node deployments implement it.
///
/// Contract (see Docs/catalog.md for the full text):
/// - All methods are blocking and thread-safe; callers never run them on Swift's cooperative pool.
/// - Every method is atomic: it fully happens or (when it throws) not at all.
/// - A write that returned is durable (survives power loss) and visible to every other process or
///   node using the same catalog.
/// - Errors are `GateError`: `.notFound` for a missing image in `update`, `.alreadyExists` for a
///   duplicate id in `insert`, `.io` for storage problems ("catalog busy" when a lock wait timed out).
public protocol CatalogStore: CatalogHealth, AnyObject, Sendable {
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
    /// Entries whose tokens have long expired are pruned so the list stays bounded. The link record (if any)
    /// gets `revokedAt` = the store's clock, the first time only.
    func revoke(serial: ID128, expiresAt: Int64) throws(GateError)

    /// The link inventory (LinkRecord.swift): records matching every filter, newest first (issuedAt, then
    /// serial, descending), `limit` from `offset`.
    func links(_ query: LinkQuery) throws(GateError) -> [TokenIssue]

    /// Adds a front's report to a link's usage in one statement of increments (sessions, bytes served) and
    /// sets the last client and time, so reports from every node add up; returns the record as this update
    /// left it (in the same transaction: `LinkUseEvent.transitions` sees each transition exactly once across
    /// nodes). An unknown serial changes nothing and returns nil.
    @discardableResult
    func recordLinkUse(_ use: LinkUse) throws(GateError) -> TokenIssue?

    /// Import leases: which process on which node owns an in-progress import, until when (ImportLease).
    /// Creates or replaces the lease; throws notFound if the image row does not exist.
    func setLease(_ id: ImageID, _ lease: ImportLease) throws(GateError)

    /// Takes an in-progress import over, in one transaction: the lease becomes `lease` unless the current
    /// one is still `held` (then false; also false when the image is no longer in progress). Two processes
    /// claiming the same dead lease at once: exactly one gets true. notFound if the image row does not exist.
    func claimLease(_ id: ImageID, _ lease: ImportLease, unless held: (ImportLease) -> Bool) throws(GateError) -> Bool

    /// The holder's heartbeat: every lease `holder` holds (matched on its identity, `node` and `run`; the
    /// pid is not compared) gets this heartbeat and expiry, in one statement. Returns how many leases it holds.
    @discardableResult
    func renewLeases(of holder: LeaseHolder, heartbeat: Int64, expiresAt: Int64) throws(GateError) -> Int

    func leases() throws(GateError) -> [(ImageID, ImportLease)]

    /// Releases the connection. Later calls throw `.io("catalog is closed")`. Idempotent.
    func close()

    // MARK: Management (migration 2). Authorization is the caller's job (ImageManagement); the store
    // applies exactly the filters it is given.

    /// Filtered, sorted, paged image list. `query.tenant` nil = all tenants; `statuses` nil = all but
    /// `deleted`. Ties in the sort column break on id (same direction), so pages are stable.
    func queryImages(_ query: ImageQuery) throws(GateError) -> ImagePage

    /// Deletes an image row (and its lease and VM references) in one transaction, after `check` approved
    /// the current record; returns the removed record. `.notFound` if absent. Token issues and audit
    /// events are kept on purpose.
    @discardableResult
    func removeImage(_ id: ImageID, _ check: (ImageRecord) throws(GateError) -> Void) throws(GateError) -> ImageRecord

    func tokenIssue(serial: ID128) throws(GateError) -> TokenIssue?

    func insertTenant(_ tenant: Tenant) throws(GateError)
    func tenant(_ id: TenantID) throws(GateError) -> Tenant?
    /// Ordered by createdAt, then id.
    func tenants() throws(GateError) -> [Tenant]

    func insertAccount(_ account: Account) throws(GateError)
    func account(_ id: String) throws(GateError) -> Account?
    /// nil = every account (platform admins included). Ordered by createdAt, then id.
    func accounts(tenant: TenantID?) throws(GateError) -> [Account]
    /// Read-modify-write of an account; id, tenant, kind and createdAt are immutable.
    func updateAccount(_ id: String, _ change: (inout Account) throws(GateError) -> Void) throws(GateError) -> Account

    /// Stores a key's public part and the hex SHA-256 of its secret (never the secret).
    func insertAPIKey(_ info: APIKeyInfo, secretHash: String) throws(GateError)
    func apiKey(_ keyID: String) throws(GateError) -> (info: APIKeyInfo, secretHash: String)?
    /// Filters are ANDed; nil = no filter. `tenant` matches the owning account's tenant. Ordered by
    /// createdAt, then key id.
    func apiKeys(accountID: String?, tenant: TenantID?) throws(GateError) -> [APIKeyInfo]
    /// Sets `revokedAt` unless already revoked; false when the key was already revoked. `.notFound` if absent.
    @discardableResult
    func revokeAPIKey(_ keyID: String, at time: Int64) throws(GateError) -> Bool
    func markAPIKeyUsed(_ keyID: String, at time: Int64) throws(GateError)
    /// Rotation in one transaction: revokes `keyID` (must exist and not be revoked, else `.conflict`) and
    /// inserts the new key.
    func replaceAPIKey(revoking keyID: String, at time: Int64, with info: APIKeyInfo, secretHash: String)
        throws(GateError)

    /// Adds a VM reference after `check` approved the image's current record, in one transaction.
    /// `.notFound` without the image; `.alreadyExists` for a duplicate (image, vm) pair.
    func addVMReference(_ ref: VMReference, _ check: (ImageRecord) throws(GateError) -> Void) throws(GateError)
    /// false when there was no such reference.
    func removeVMReference(image: ImageID, vmID: String) throws(GateError) -> Bool
    /// Ordered by createdAt, then vm id.
    func vmReferences(image: ImageID) throws(GateError) -> [VMReference]

    /// Appends one event: numbers it (last seq + 1) and chains its hash to the previous event's, under the
    /// write lock so concurrent writers (other processes too) cannot fork the chain.
    @discardableResult
    func appendAudit(_ draft: AuditDraft) throws(GateError) -> AuditEvent
    /// Events with seq > afterSeq in seq order, at most `limit`. `tenant` nil = all; otherwise events whose
    /// actor or target belongs to that tenant.
    func auditEvents(tenant: TenantID?, afterSeq: Int64?, limit: Int) throws(GateError) -> [AuditEvent]
    /// Events matching every set field of `query`, in seq order (descending when `newestFirst`), at most
    /// `query.limit`.
    func auditEvents(_ query: AuditQuery) throws(GateError) -> [AuditEvent]

    // MARK: Import jobs: what an in-progress import reads from and how it resumes (ImportJob).

    /// Creates or replaces the job of `job.imageID`. notFound-free: the image row must exist (foreign key).
    func saveImportJob(_ job: ImportJob) throws(GateError)
    func importJob(image: ImageID) throws(GateError) -> ImportJob?
    func importJob(upload: String) throws(GateError) -> ImportJob?
    /// Ordered by createdAt, then image id.
    func importJobs() throws(GateError) -> [ImportJob]
    /// Idempotent.
    func deleteImportJob(image: ImageID) throws(GateError)

    /// How many image rows (any status) and minted links the catalog holds: key material may only be created
    /// for a catalog with neither (StartupGuards).
    func imageAndLinkCounts() throws(GateError) -> (images: Int, links: Int)

    // MARK: Shared state of every node (SharedState.swift).

    func document(_ name: String) throws(GateError) -> SharedDocument?
    /// Compare-and-swap: writes `body` when the stored version is `expectedVersion` (nil: only when no such
    /// document exists yet). Never throws for a lost race: returns the winner's document with
    /// `written == false`.
    func putDocument(_ name: String, body: String, expectedVersion: Int64?) throws(GateError) -> SharedDocumentWrite

    /// Takes the named task lease for `holder` until `expiresAt` when it is free, expired (`expiresAt <= now`
    /// of the current holder) or already `holder`'s (a renewal). Exactly one of several nodes asking at once
    /// gets true. Used so that one node at a time runs a cluster-wide periodic job (recycle-bin purge, …).
    func claimTask(_ name: String, holder: String, now: Int64, expiresAt: Int64) throws(GateError) -> Bool
    /// Gives the lease up if `holder` has it (idempotent).
    func releaseTask(_ name: String, holder: String) throws(GateError)

    /// Console sessions (`digest` is the primary key; a duplicate is `.alreadyExists`).
    func insertConsoleSession(_ session: ConsoleSessionRecord) throws(GateError)
    func consoleSession(digest: String) throws(GateError) -> ConsoleSessionRecord?
    /// Sets lastSeen (never backwards). false when there is no such session.
    @discardableResult
    func touchConsoleSession(digest: String, lastSeen: Int64) throws(GateError) -> Bool
    /// Idempotent.
    func removeConsoleSession(digest: String) throws(GateError)
    /// Removes every session idle since before `idleBefore` or created before `createdBefore`, and every
    /// session of `keyID` when given; returns how many went.
    @discardableResult
    func removeConsoleSessions(idleBefore: Int64, createdBefore: Int64, keyID: String?) throws(GateError) -> Int

    // MARK: Webhooks and their delivery outbox (Webhooks.swift, Docs/webhooks.md).

    /// A duplicate id is `.alreadyExists`.
    func insertWebhook(_ webhook: Webhook) throws(GateError)
    /// Ordered by createdAt, then id.
    func webhooks() throws(GateError) -> [Webhook]
    /// Removes the webhook and its deliveries (pending or logged); false when there was none.
    @discardableResult
    func removeWebhook(_ id: String) throws(GateError) -> Bool
    /// Enqueues one pending delivery, due at once, for every enabled webhook subscribed to `event.type`, in one
    /// transaction; returns how many. Deliveries are numbered in enqueue order (`seq`).
    @discardableResult
    func enqueueWebhookEvent(_ event: WebhookEvent) throws(GateError) -> Int
    /// Claims at most `limit` due deliveries for `holder` until `claimUntil`, lowest seq first: pending, due
    /// (`nextAttemptAt <= now`), not claimed by anyone or with an expired claim, and with no earlier pending
    /// delivery of the same webhook and image (so one image's events go out in order). Several nodes claiming
    /// at once never get the same delivery.
    func claimWebhookDeliveries(holder: String, now: Int64, claimUntil: Int64, limit: Int) throws(GateError)
        -> [WebhookDelivery]
    /// Records an attempt (attempts + 1, last status and error, the new state) and drops the claim, if `holder`
    /// still holds the delivery's claim; false when it does not (expired and taken over, or webhook removed).
    @discardableResult
    func finishWebhookDelivery(seq: Int64, holder: String, outcome: WebhookAttemptOutcome, at now: Int64)
        throws(GateError) -> Bool
    /// A webhook's deliveries, newest (highest seq) first, at most `limit`.
    func webhookDeliveries(webhook: String, limit: Int) throws(GateError) -> [WebhookDelivery]
    /// Deletes the log rows of deliveries that ended (delivered or failed) before `before`; returns how many.
    /// Pending deliveries are never touched.
    @discardableResult
    func pruneWebhookDeliveries(endedBefore before: Int64) throws(GateError) -> Int
}

extension CatalogStore {
    /// Inserts a row with no lease (rows that are not being imported).
    public func insert(_ record: ImageRecord) throws(GateError) {
        try insert(record, lease: nil)
    }
}
