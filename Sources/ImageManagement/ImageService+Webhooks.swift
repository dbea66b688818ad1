//===----------------------------------------------------------------------===//
// ImageGate: ImageService: webhook registrations and their delivery log (platform administrators only).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import ImageCatalog

extension ImageService {
    public static let maxWebhookLogPage = 1000

    /// Registers `url` for `events` (each one of `WebhookEvents.types`) with a new random secret, returned once
    /// in the record. The URL's address rules are the caller's (the app checks them with the delivery policy).
    public func addWebhook(_ p: Principal, url: String, events: [String], source: String) throws(GateError) -> Webhook {
        try authorizeWebhooks(p, "webhook.add", target: url, source: source)
        guard !events.isEmpty else { throw .invalid("events: name at least one of \(Self.eventList)") }
        for e in events where !WebhookEvents.types.contains(e) {
            throw .invalid("events: unknown event \(JSONText.quote(e)); known: \(Self.eventList)")
        }
        guard url.utf8.count <= 2048 else { throw .invalid("url: at most 2048 bytes") }
        // 32 random bytes, hex: the HMAC key is the secret string's bytes (Docs/webhooks.md).
        let hook = Webhook(
            id: Webhook.newID(), url: url, events: events, secret: "whsec_" + Hex.encode(Crypto.randomBytes(32)),
            createdBy: p.accountID, createdAt: clock.now())
        try store.insertWebhook(hook)
        webhookEvents.refresh()
        record(
            p, "webhook.add", target: hook.id, targetTenant: nil, source: source,
            detail: ["url": url, "events": hook.events.joined(separator: ",")])
        return hook
    }

    /// Every webhook, oldest first (secrets included: callers never show them again).
    public func webhooks(_ p: Principal) throws(GateError) -> [Webhook] {
        try authorizeWebhooks(p, "webhook.list", target: "webhooks", source: "api")
        return try store.webhooks()
    }

    public func webhook(_ p: Principal, _ id: String) throws(GateError) -> Webhook {
        guard let hook = try webhooks(p).first(where: { $0.id == id }) else {
            throw .notFound("no webhook \(JSONText.quote(id))")
        }
        return hook
    }

    /// Removes the webhook with its pending deliveries and log.
    public func removeWebhook(_ p: Principal, _ id: String, source: String) throws(GateError) {
        try authorizeWebhooks(p, "webhook.remove", target: id, source: source)
        guard try store.removeWebhook(id) else { throw .notFound("no webhook \(JSONText.quote(id))") }
        webhookEvents.refresh()
        record(p, "webhook.remove", target: id, targetTenant: nil, source: source)
    }

    /// The webhook's delivery log, newest first.
    public func webhookDeliveries(_ p: Principal, _ id: String, limit: Int) throws(GateError) -> [WebhookDelivery] {
        guard (1...Self.maxWebhookLogPage).contains(limit) else {
            throw .invalid("limit must be between 1 and \(Self.maxWebhookLogPage)")
        }
        _ = try webhook(p, id)
        return try store.webhookDeliveries(webhook: id, limit: limit)
    }

    private static var eventList: String { WebhookEvents.types.joined(separator: ", ") }

    /// Webhooks see every tenant's events: platform administrators only.
    public func authorizeWebhooks(_ p: Principal, _ action: String, target: String, source: String) throws(GateError) {
        guard p.isPlatformAdmin else {
            throw denied(
                p, action: action, target: target, targetTenant: p.tenant, source: source,
                "webhooks are for platform administrators")
        }
    }
}
