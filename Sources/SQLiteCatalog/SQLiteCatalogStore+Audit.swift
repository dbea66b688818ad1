//===----------------------------------------------------------------------===//
// ImageGate: SQLite store, the append-only hash-chained audit log.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension SQLiteCatalogStore {
    @discardableResult
    public func appendAudit(_ draft: AuditDraft) throws(GateError) -> AuditEvent {
        try withConnection { db throws(GateError) in
            // BEGIN IMMEDIATE: reading the tail and appending after it must be one step, or two writers
            // (threads or processes) could both chain onto the same predecessor.
            try db.immediateTransaction { () throws(GateError) -> AuditEvent in
                let last = try db.prepare("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                var seq: Int64 = 1
                var previous = AuditEvent.genesisHash
                if try last.step() {
                    seq = last.int64(0) + 1
                    previous = last.string(1)
                }
                let hash = AuditEvent.chainHash(previous: previous, seq: seq, draft)
                let stmt = try db.prepare(
                    """
                    INSERT INTO audit_events (seq, time, actor, actor_tenant, action, target, target_tenant, source,
                        outcome, detail, prev_hash, hash)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                    """)
                try stmt.bind(1, seq)
                try stmt.bind(2, draft.time)
                try stmt.bind(3, draft.actor)
                try stmt.bind(4, draft.actorTenant?.description)
                try stmt.bind(5, draft.action)
                try stmt.bind(6, draft.target)
                try stmt.bind(7, draft.targetTenant?.description)
                try stmt.bind(8, draft.source)
                try stmt.bind(9, draft.outcome)
                try stmt.bind(10, AuditEvent.encodeDetail(draft.detail))
                try stmt.bind(11, previous)
                try stmt.bind(12, hash)
                try stmt.step()
                return AuditEvent(seq: seq, draft: draft, hash: hash)
            }
        }
    }

    public func auditEvents(tenant: TenantID?, afterSeq: Int64?, limit: Int) throws(GateError) -> [AuditEvent] {
        try auditEvents(AuditQuery(tenant: tenant, afterSeq: afterSeq, limit: limit))
    }

    public func auditEvents(_ q: AuditQuery) throws(GateError) -> [AuditEvent] {
        guard q.limit > 0 else { return [] }
        return try withConnection { db throws(GateError) in
            // Unset filters are NULL and match everything; image and serial also match the detail's key.
            // The direction is one of two constants; every value is bound.
            let stmt = try db.prepare(
                composed: """
                    SELECT seq, time, actor, actor_tenant, action, target, target_tenant, source, outcome, detail, hash
                    FROM audit_events
                    WHERE seq > ?1 AND seq < ?2 AND time >= ?3 AND time <= ?4
                        AND (?5 IS NULL OR actor_tenant = ?5 OR target_tenant = ?5)
                        AND (?6 IS NULL OR action = ?6)
                        AND (?7 IS NULL OR actor = ?7)
                        AND (?8 IS NULL OR target = ?8 OR json_extract(detail, '$.image') = ?8)
                        AND (?9 IS NULL OR target = ?9 OR json_extract(detail, '$.serial') = ?9)
                    ORDER BY seq \(q.newestFirst ? "DESC" : "ASC") LIMIT ?10
                    """)
            try stmt.bind(1, q.afterSeq ?? 0)
            try stmt.bind(2, q.beforeSeq ?? Int64.max)
            try stmt.bind(3, q.since ?? Int64.min)
            try stmt.bind(4, q.until ?? Int64.max)
            try stmt.bind(5, q.tenant?.description)
            try stmt.bind(6, q.action)
            try stmt.bind(7, q.actor)
            try stmt.bind(8, q.image)
            try stmt.bind(9, q.serial)
            try stmt.bind(10, Int64(q.limit))
            // The detail column is decoded by SQLite's own JSON parser (json_each), not by hand.
            let details = try db.prepare("SELECT key, value FROM json_each(?1)")
            var out: [AuditEvent] = []
            while try stmt.step() {
                let seq = stmt.int64(0)
                try details.reset()
                try details.bind(1, stmt.string(9))
                var detail: [String: String] = [:]
                while try details.step() { detail[details.string(0)] = details.string(1) }
                let draft = AuditDraft(
                    time: stmt.int64(1), actor: stmt.string(2), actorTenant: try Self.tenantColumn(stmt, 3, seq),
                    action: stmt.string(4), target: stmt.string(5), targetTenant: try Self.tenantColumn(stmt, 6, seq),
                    source: stmt.string(7), outcome: stmt.string(8), detail: detail)
                out.append(AuditEvent(seq: seq, draft: draft, hash: stmt.string(10)))
            }
            return out
        }
    }

    private static func tenantColumn(_ stmt: SQLiteStatement, _ column: Int32, _ seq: Int64) throws(GateError)
        -> TenantID?
    {
        guard let text = stmt.optionalString(column) else { return nil }
        guard let tenant = TenantID(text) else { throw ImageRow.damaged("tenant in audit event \(seq)") }
        return tenant
    }
}
