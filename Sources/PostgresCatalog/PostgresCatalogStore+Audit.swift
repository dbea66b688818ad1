//===----------------------------------------------------------------------===//
// ImageGate: PostgreSQL store, the append-only hash-chained audit log, one chain for every node.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog
import PostgresClient

extension PostgresCatalogStore {
    @discardableResult
    public func appendAudit(_ draft: AuditDraft) throws(GateError) -> AuditEvent {
        let detail = AuditEvent.encodeDetail(draft.detail)
        return try inTransaction { c in
            // Reading the tail and appending after it must be one step for every writer on every node, or two
            // could chain onto the same predecessor. The transaction-level advisory lock is that step: the
            // next writer waits for this COMMIT, and its SELECT (a new snapshot under READ COMMITTED) then
            // sees this event as the tail.
            try c.query("SELECT pg_advisory_xact_lock($1::int8)", [.int(PostgresCatalogLockKey.auditChain)])
            var seq: Int64 = 1
            var previous = AuditEvent.genesisHash
            if let last = try c.query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").first {
                seq = try last.int64(0) + 1
                previous = try last.string(1)
            }
            let hash = AuditEvent.chainHash(previous: previous, seq: seq, draft)
            try c.query(
                """
                INSERT INTO audit_events (seq, time, actor, actor_tenant, action, target, target_tenant, source,
                    outcome, detail, prev_hash, hash)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                """,
                [
                    .int(seq), .int(draft.time), .text(draft.actor), .text(draft.actorTenant?.description),
                    .text(draft.action), .text(draft.target), .text(draft.targetTenant?.description),
                    .text(draft.source), .text(draft.outcome), .text(detail), .text(previous), .text(hash),
                ])
            return AuditEvent(seq: seq, draft: draft, hash: hash)
        }
    }

    public func auditEvents(tenant: TenantID?, afterSeq: Int64?, limit: Int) throws(GateError) -> [AuditEvent] {
        try auditEvents(AuditQuery(tenant: tenant, afterSeq: afterSeq, limit: limit))
    }

    public func auditEvents(_ q: AuditQuery) throws(GateError) -> [AuditEvent] {
        guard q.limit > 0 else { return [] }
        return try withConnection { c in
            // Unset filters are NULL and match everything; image and serial also match the detail's key.
            // The direction is one of two constants; every value is a parameter.
            let rows = try c.query(
                composed: """
                    SELECT seq, time, actor, actor_tenant, action, target, target_tenant, source, outcome, detail, hash
                    FROM audit_events
                    WHERE seq > $1 AND seq < $2 AND time >= $3 AND time <= $4
                        AND ($5::text IS NULL OR actor_tenant = $5 OR target_tenant = $5)
                        AND ($6::text IS NULL OR action = $6)
                        AND ($7::text IS NULL OR actor = $7)
                        AND ($8::text IS NULL OR target = $8 OR detail::jsonb ->> 'image' = $8)
                        AND ($9::text IS NULL OR target = $9 OR detail::jsonb ->> 'serial' = $9)
                    ORDER BY seq \(q.newestFirst ? "DESC" : "ASC") LIMIT $10
                    """,
                [
                    .int(q.afterSeq ?? 0), .int(q.beforeSeq ?? Int64.max), .int(q.since ?? Int64.min),
                    .int(q.until ?? Int64.max), .text(q.tenant?.description), .text(q.action), .text(q.actor),
                    .text(q.image), .text(q.serial), .int(Int64(q.limit)),
                ])
            return try rows.rows.map { row in
                let seq = try row.int64(0)
                let draft = AuditDraft(
                    time: try row.int64(1), actor: try row.string(2), actorTenant: try Self.tenantColumn(row, 3, seq),
                    action: try row.string(4), target: try row.string(5),
                    targetTenant: try Self.tenantColumn(row, 6, seq), source: try row.string(7),
                    outcome: try row.string(8), detail: try Self.decodeDetail(try row.string(9), seq))
                return AuditEvent(seq: seq, draft: draft, hash: try row.string(10))
            }
        }
    }

    /// The detail column is the canonical JSON object `AuditEvent.encodeDetail` wrote: string values only.
    private static func decodeDetail(_ text: String, _ seq: Int64) throws -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw PostgresImageRow.damaged("detail of audit event \(seq)")
        }
        var detail: [String: String] = [:]
        for (key, value) in object {
            guard let s = value as? String else { throw PostgresImageRow.damaged("detail of audit event \(seq)") }
            detail[key] = s
        }
        return detail
    }

    private static func tenantColumn(_ row: PostgresRow, _ column: Int, _ seq: Int64) throws -> TenantID? {
        guard let text = try row.optionalString(column) else { return nil }
        guard let tenant = TenantID(text) else { throw PostgresImageRow.damaged("tenant in audit event \(seq)") }
        return tenant
    }
}
