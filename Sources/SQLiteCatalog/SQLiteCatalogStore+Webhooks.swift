//===----------------------------------------------------------------------===//
// ImageGate: the SQLite catalog's webhooks and delivery outbox (migration 7, Docs/webhooks.md).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension SQLiteCatalogStore {
    public func insertWebhook(_ w: Webhook) throws(GateError) {
        let events = try ImageColumns.joinList(w.events)
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                INSERT INTO webhooks (id, url, events, secret, created_by, created_at, enabled)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                """)
            try stmt.bind(1, w.id)
            try stmt.bind(2, w.url)
            try stmt.bind(3, events)
            try stmt.bind(4, w.secret)
            try stmt.bind(5, w.createdBy)
            try stmt.bind(6, w.createdAt)
            try stmt.bind(7, Int64(w.enabled ? 1 : 0))
            try stmt.step()
        }
    }

    public func webhooks() throws(GateError) -> [Webhook] {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                "SELECT id, url, events, secret, created_by, created_at, enabled FROM webhooks ORDER BY created_at, id")
            var out: [Webhook] = []
            while try stmt.step() {
                out.append(
                    Webhook(
                        id: stmt.string(0), url: stmt.string(1), events: ImageColumns.splitList(stmt.string(2)),
                        secret: stmt.string(3), createdBy: stmt.string(4), createdAt: stmt.int64(5),
                        enabled: stmt.int64(6) != 0))
            }
            return out
        }
    }

    @discardableResult
    public func removeWebhook(_ id: String) throws(GateError) -> Bool {
        try withConnection { db throws(GateError) in
            // Deliveries go with it (ON DELETE CASCADE; foreign_keys is on for every connection).
            let stmt = try db.prepare("DELETE FROM webhooks WHERE id = ?1")
            try stmt.bind(1, id)
            try stmt.step()
            return db.changes > 0
        }
    }

    @discardableResult
    public func enqueueWebhookEvent(_ e: WebhookEvent) throws(GateError) -> Int {
        try withConnection { db throws(GateError) in
            // One statement: the subscribed webhooks are read and their rows written under the same write lock.
            let stmt = try db.prepare(
                """
                INSERT INTO webhook_deliveries (webhook_id, event_id, type, time, image_id, data, next_attempt_at, state)
                SELECT id, ?1, ?2, ?3, ?4, ?5, ?3, 'pending' FROM webhooks
                WHERE enabled = 1 AND instr(events, char(31) || ?2 || char(31)) > 0
                ORDER BY created_at, id
                """)
            try stmt.bind(1, e.id)
            try stmt.bind(2, e.type)
            try stmt.bind(3, e.time)
            try stmt.bind(4, e.image)
            try stmt.bind(5, e.data)
            try stmt.step()
            return db.changes
        }
    }

    public func claimWebhookDeliveries(holder: String, now: Int64, claimUntil: Int64, limit: Int) throws(GateError)
        -> [WebhookDelivery]
    {
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) -> [WebhookDelivery] in
                // Under BEGIN IMMEDIATE no other process writes between this SELECT and the UPDATE below.
                let pick = try db.prepare(
                    composed: Self.deliverySelect + """
                         WHERE d.state = 'pending' AND d.next_attempt_at <= ?1
                          AND (d.claim_until IS NULL OR d.claim_until <= ?1)
                          AND NOT EXISTS (
                              SELECT 1 FROM webhook_deliveries e
                              WHERE e.webhook_id = d.webhook_id AND e.image_id = d.image_id AND e.seq < d.seq
                                AND e.state = 'pending')
                        ORDER BY d.seq LIMIT ?2
                        """)
                try pick.bind(1, now)
                try pick.bind(2, Int64(limit))
                var out: [WebhookDelivery] = []
                while try pick.step() { out.append(try Self.decodeDelivery(pick)) }
                let claim = try db.prepare(
                    "UPDATE webhook_deliveries SET claimed_by = ?2, claim_until = ?3 WHERE seq = ?1")
                for d in out {
                    try claim.reset()
                    try claim.bind(1, d.seq)
                    try claim.bind(2, holder)
                    try claim.bind(3, claimUntil)
                    try claim.step()
                }
                return out
            }
        }
    }

    @discardableResult
    public func finishWebhookDelivery(seq: Int64, holder: String, outcome: WebhookAttemptOutcome, at now: Int64)
        throws(GateError) -> Bool
    {
        let row = DeliveryFinish(outcome, now: now)
        return try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                UPDATE webhook_deliveries
                SET attempts = attempts + 1, state = ?3, next_attempt_at = ?4, last_status = ?5, last_error = ?6,
                    last_attempt_at = ?7, claimed_by = NULL, claim_until = NULL
                WHERE seq = ?1 AND claimed_by = ?2 AND state = 'pending'
                """)
            try stmt.bind(1, seq)
            try stmt.bind(2, holder)
            try stmt.bind(3, row.state.rawValue)
            try stmt.bind(4, row.nextAttemptAt)
            try stmt.bind(5, row.status.map(Int64.init))
            try stmt.bind(6, row.error)
            try stmt.bind(7, now)
            try stmt.step()
            return db.changes > 0
        }
    }

    public func webhookDeliveries(webhook: String, limit: Int) throws(GateError) -> [WebhookDelivery] {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                composed: Self.deliverySelect + " WHERE d.webhook_id = ?1 ORDER BY d.seq DESC LIMIT ?2")
            try stmt.bind(1, webhook)
            try stmt.bind(2, Int64(limit))
            var out: [WebhookDelivery] = []
            while try stmt.step() { out.append(try Self.decodeDelivery(stmt)) }
            return out
        }
    }

    @discardableResult
    public func pruneWebhookDeliveries(endedBefore before: Int64) throws(GateError) -> Int {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND last_attempt_at < ?1")
            try stmt.bind(1, before)
            try stmt.step()
            return db.changes
        }
    }

    private static let deliverySelect = """
        SELECT d.seq, d.webhook_id, d.event_id, d.type, d.time, d.image_id, d.data, d.attempts, d.next_attempt_at,
            d.state, d.last_status, d.last_error, d.last_attempt_at
        FROM webhook_deliveries d
        """

    private static func decodeDelivery(_ s: SQLiteStatement) throws(GateError) -> WebhookDelivery {
        let stateText = s.string(9)
        guard let state = WebhookDeliveryState(rawValue: stateText) else {
            throw .io("catalog is damaged: delivery state '\(stateText)'")
        }
        return WebhookDelivery(
            seq: s.int64(0), webhookID: s.string(1),
            event: WebhookEvent(
                id: s.string(2), type: s.string(3), time: s.int64(4), image: s.optionalString(5), data: s.string(6)),
            attempts: Int(s.int64(7)), nextAttemptAt: s.int64(8), state: state,
            lastStatus: s.optionalInt64(10).map { Int($0) }, lastError: s.optionalString(11),
            lastAttemptAt: s.optionalInt64(12))
    }
}
