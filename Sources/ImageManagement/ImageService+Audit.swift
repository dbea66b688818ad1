//===----------------------------------------------------------------------===//
// ImageGate: ImageService: reading and verifying the audit log.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension ImageService {
    public static let maxAuditPage = 1000

    /// Events after `afterSeq`, oldest first, at most `limit` (1...1000). Admins: all or one tenant's;
    /// owners: their tenant's (events whose actor or target is in it); sub-accounts: `.permissionDenied`.
    public func auditEvents(_ p: Principal, tenant: TenantID?, afterSeq: Int64?, limit: Int) throws(GateError)
        -> [AuditEvent]
    {
        try auditEvents(p, AuditQuery(tenant: tenant, afterSeq: afterSeq, limit: limit))
    }

    /// The events matching `query` (the audit page's filters), with the same scope rule: an owner's query is
    /// always narrowed to their tenant.
    public func auditEvents(_ p: Principal, _ query: AuditQuery) throws(GateError) -> [AuditEvent] {
        guard (1...Self.maxAuditPage).contains(query.limit) else {
            throw .invalid("limit must be between 1 and \(Self.maxAuditPage)")
        }
        if p.isPlatformAdmin { return try store.auditEvents(query) }
        let own = try scope(p)!
        if let tenant = query.tenant, tenant != own { throw .notFound("no tenant \(tenant)") }
        try require(p, .readAudit, action: "audit.read", target: "audit", targetTenant: own, source: "api")
        var scoped = query
        scoped.tenant = own
        return try store.auditEvents(scoped)
    }

    /// Recomputes the hash chain from the first event. nil = intact; otherwise the seq of the first event
    /// whose hash does not match (edited, or its predecessor was removed or altered). Truncation of the
    /// newest events is not detectable from the chain alone; compare with an exported head hash for that.
    public func verifyAuditChain() throws(GateError) -> Int64? {
        var previous = AuditEvent.genesisHash
        var lastSeq: Int64 = 0
        while true {
            let page = try store.auditEvents(tenant: nil, afterSeq: lastSeq, limit: Self.maxAuditPage)
            if page.isEmpty { return nil }
            for event in page {
                guard event.seq == lastSeq + 1,
                    AuditEvent.chainHash(previous: previous, seq: event.seq, event.draft) == event.hash
                else { return event.seq }
                previous = event.hash
                lastSeq = event.seq
            }
        }
    }
}
