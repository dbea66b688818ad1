//===----------------------------------------------------------------------===//
// ImageGate: PostgreSQL store, webhooks and the delivery outbox (schema version 2, Docs/webhooks.md).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import PostgresClient

extension PostgresCatalogStore {
    public func insertWebhook(_ w: Webhook) throws(GateError) {
        let events = try ImageColumns.joinList(w.events)
        try inTransaction { c in
            try c.query(
                """
                INSERT INTO webhooks (id, url, events, secret, created_by, created_at, enabled)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                [
                    .text(w.id), .text(w.url), .text(events), .text(w.secret), .text(w.createdBy), .int(w.createdAt),
                    .bool(w.enabled),
                ])
        }
    }

    public func webhooks() throws(GateError) -> [Webhook] {
        try withConnection { c in
            try c.query(
                "SELECT id, url, events, secret, created_by, created_at, enabled FROM webhooks ORDER BY created_at, id"
            ).rows.map { row in
                Webhook(
                    id: try row.string(0), url: try row.string(1), events: ImageColumns.splitList(try row.string(2)),
                    secret: try row.string(3), createdBy: try row.string(4), createdAt: try row.int64(5),
                    enabled: try row.bool(6))
            }
        }
    }

    @discardableResult
    public func removeWebhook(_ id: String) throws(GateError) -> Bool {
        try inTransaction { c in try c.query("DELETE FROM webhooks WHERE id = $1", [.text(id)]).affectedRows > 0 }
    }

    @discardableResult
    public func enqueueWebhookEvent(_ e: WebhookEvent) throws(GateError) -> Int {
        try inTransaction { c in
            try c.query(
                """
                INSERT INTO webhook_deliveries (webhook_id, event_id, type, time, image_id, data, next_attempt_at, state)
                SELECT id, $1, $2, $3, $4, $5, $3, 'pending' FROM webhooks
                WHERE enabled AND strpos(events, chr(31) || $2 || chr(31)) > 0
                ORDER BY created_at, id
                """, [.text(e.id), .text(e.type), .int(e.time), .text(e.image), .text(e.data)]
            ).affectedRows
        }
    }

    public func claimWebhookDeliveries(holder: String, now: Int64, claimUntil: Int64, limit: Int) throws(GateError)
        -> [WebhookDelivery]
    {
        try inTransaction { c in
            // SKIP LOCKED: a row another node is claiming right now is left to it rather than waited for. The
            // ordering test sees pending rows whatever their claim, so an image's later event waits while an
            // earlier one is in flight on any node.
            let claimed = try c.query(
                composed: """
                    UPDATE webhook_deliveries SET claimed_by = $2, claim_until = $3
                    WHERE seq IN (
                        SELECT d.seq FROM webhook_deliveries d
                        WHERE d.state = 'pending' AND d.next_attempt_at <= $1
                          AND (d.claim_until IS NULL OR d.claim_until <= $1)
                          AND NOT EXISTS (
                              SELECT 1 FROM webhook_deliveries e
                              WHERE e.webhook_id = d.webhook_id AND e.image_id = d.image_id AND e.seq < d.seq
                                AND e.state = 'pending')
                        ORDER BY d.seq LIMIT $4
                        FOR UPDATE SKIP LOCKED)
                    RETURNING \(Self.deliveryColumns)
                    """, [.int(now), .text(holder), .int(claimUntil), .int(limit)])
            return try claimed.rows.map(Self.decodeDelivery).sorted { $0.seq < $1.seq }
        }
    }

    @discardableResult
    public func finishWebhookDelivery(seq: Int64, holder: String, outcome: WebhookAttemptOutcome, at now: Int64)
        throws(GateError) -> Bool
    {
        let row = DeliveryFinish(outcome, now: now)
        return try inTransaction { c in
            try c.query(
                """
                UPDATE webhook_deliveries
                SET attempts = attempts + 1, state = $3, next_attempt_at = $4, last_status = $5, last_error = $6,
                    last_attempt_at = $7, claimed_by = NULL, claim_until = NULL
                WHERE seq = $1 AND claimed_by = $2 AND state = 'pending'
                """,
                [
                    .int(seq), .text(holder), .text(row.state.rawValue), .int(row.nextAttemptAt),
                    .int(row.status.map(Int64.init)), .text(row.error), .int(now),
                ]
            ).affectedRows > 0
        }
    }

    public func webhookDeliveries(webhook: String, limit: Int) throws(GateError) -> [WebhookDelivery] {
        try withConnection { c in
            try c.query(
                composed:
                    "SELECT \(Self.deliveryColumns) FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY seq DESC LIMIT $2",
                [.text(webhook), .int(limit)]
            ).rows.map(Self.decodeDelivery)
        }
    }

    @discardableResult
    public func pruneWebhookDeliveries(endedBefore before: Int64) throws(GateError) -> Int {
        try inTransaction { c in
            try c.query(
                "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND last_attempt_at < $1", [.int(before)]
            ).affectedRows
        }
    }

    private static let deliveryColumns = """
        seq, webhook_id, event_id, type, time, image_id, data, attempts, next_attempt_at, state, last_status,
        last_error, last_attempt_at
        """

    private static func decodeDelivery(_ r: PostgresRow) throws -> WebhookDelivery {
        let stateText = try r.string(9)
        guard let state = WebhookDeliveryState(rawValue: stateText) else {
            throw GateError.io("catalog is damaged: delivery state '\(stateText)'")
        }
        return WebhookDelivery(
            seq: try r.int64(0), webhookID: try r.string(1),
            event: WebhookEvent(
                id: try r.string(2), type: try r.string(3), time: try r.int64(4), image: try r.optionalString(5),
                data: try r.string(6)),
            attempts: Int(try r.int64(7)), nextAttemptAt: try r.int64(8), state: state,
            lastStatus: try r.optionalInt64(10).map { Int($0) }, lastError: try r.optionalString(11),
            lastAttemptAt: try r.optionalInt64(12))
    }
}
