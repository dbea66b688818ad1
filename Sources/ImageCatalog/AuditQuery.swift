//===----------------------------------------------------------------------===//
// ImageGate: which audit events to read: tenant, action, image, serial, account, time range, paging.
//===----------------------------------------------------------------------===//
import GateCore

/// A filter over the audit log (Docs/management.md "Audit log"; the console's audit page). Every set field
/// must match. `image` and `serial` match the event's target or the same key in its detail (a revocation
/// targets the serial and names the image in its detail; a download targets the image and names the serial).
public struct AuditQuery: Sendable, Equatable {
    /// Events whose actor or target belongs to this tenant; nil = all.
    public var tenant: TenantID?
    /// Exact action name, e.g. `download.refused`.
    public var action: String?
    /// An image id (`img-…`).
    public var image: String?
    /// A link serial (32 hex digits).
    public var serial: String?
    /// The actor: an account id, "system", or "anonymous".
    public var actor: String?
    /// Unix seconds, inclusive.
    public var since: Int64?
    public var until: Int64?
    /// Paging by sequence number: only events with seq > afterSeq and seq < beforeSeq.
    public var afterSeq: Int64?
    public var beforeSeq: Int64?
    /// Newest first (the console) instead of oldest first (following the log, verifying the chain).
    public var newestFirst: Bool
    public var limit: Int

    public init(
        tenant: TenantID? = nil, action: String? = nil, image: String? = nil, serial: String? = nil,
        actor: String? = nil, since: Int64? = nil, until: Int64? = nil, afterSeq: Int64? = nil,
        beforeSeq: Int64? = nil, newestFirst: Bool = false, limit: Int
    ) {
        self.tenant = tenant
        self.action = action
        self.image = image
        self.serial = serial
        self.actor = actor
        self.since = since
        self.until = until
        self.afterSeq = afterSeq
        self.beforeSeq = beforeSeq
        self.newestFirst = newestFirst
        self.limit = limit
    }
}
