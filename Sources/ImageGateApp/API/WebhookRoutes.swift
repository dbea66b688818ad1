//===----------------------------------------------------------------------===//
// ImageGate: /api/v1/webhooks: registrations and their delivery log (platform administrators; Docs/webhooks.md).
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import HTTPServer
import ImageCatalog
import ImageManagement
import URLFetcher

struct WebhookRoutes {
    let api: ManagementAPI
    var service: ImageService { api.service }

    func route(_ c: APICall) throws(GateError) -> Response {
        let s = c.segments
        switch (c.method, s.count) {
        case ("GET", 1):
            return APIReply.json(200, ["items": try service.webhooks(c.principal).map { Self.json($0) }])
        case ("POST", 1):
            let body = try JSONBody(c.request.body, allowed: ["url", "events"])
            let url = try body.requiredString("url")
            guard let events = try body.strings("events") else { throw GateError.invalid("field events is required") }
            // Only an administrator learns whether an address is refused: the role is checked first.
            try service.authorizeWebhooks(c.principal, "webhook.add", target: url, source: c.source)
            if let refusal = URLPost.refusal(url: url, policy: api.webhookPolicy) {
                throw GateError.invalid("url: \(Self.explain(refusal))")
            }
            let hook = try service.addWebhook(c.principal, url: url, events: events, source: c.source)
            var o = Self.json(hook)
            o["secret"] = hook.secret  // shown once, here
            return APIReply.json(201, o)
        case ("GET", 2):
            return APIReply.json(200, Self.json(try service.webhook(c.principal, s[1])))
        case ("DELETE", 2):
            try service.removeWebhook(c.principal, s[1], source: c.source)
            return APIReply.json(200, ["id": s[1], "removed": true])
        case ("GET", 3) where s[2] == "deliveries":
            let limit = try c.query.int("limit", default: 100)
            let log = try service.webhookDeliveries(c.principal, s[1], limit: limit)
            return APIReply.json(200, ["items": log.map(Self.json)])
        default:
            switch s.count {
            case 1: throw ManagementAPI.methodNotAllowed("GET, POST")
            case 2: throw ManagementAPI.methodNotAllowed("GET, DELETE")
            case 3 where s[2] == "deliveries": throw ManagementAPI.methodNotAllowed("GET")
            default: throw GateError.notFound("no such API route")
            }
        }
    }

    /// The refusal in the words of the import rules; the blocked range is named (administrators only).
    static func explain(_ f: FetchFailure) -> String {
        switch f.code {
        case "scheme_not_allowed":
            return "only https:// addresses are allowed (http:// needs webhooks.allow_plain_http = true)"
        case "destination_not_allowed":
            return "destination not allowed (\(f.logDetail ?? "blocked address")); private and loopback receivers "
                + "need webhooks.allow_private"
        default: return f.message
        }
    }

    /// A registration without its secret.
    static func json(_ w: Webhook) -> [String: Any] {
        [
            "id": w.id, "url": w.url, "events": w.events, "enabled": w.enabled, "created_by": w.createdBy,
            "created_at": TimeFormat.rfc3339(w.createdAt),
        ]
    }

    static func json(_ d: WebhookDelivery) -> [String: Any] {
        [
            "seq": d.seq, "event_id": d.event.id, "type": d.event.type, "time": TimeFormat.rfc3339(d.event.time),
            "image_id": d.event.image ?? NSNull(), "state": d.state.rawValue, "attempts": d.attempts,
            "next_attempt_at": d.state == .pending ? TimeFormat.rfc3339(d.nextAttemptAt) : NSNull(),
            "last_status": d.lastStatus ?? NSNull(), "last_error": d.lastError ?? NSNull(),
            "last_attempt_at": d.lastAttemptAt.map(TimeFormat.rfc3339) ?? NSNull(),
        ]
    }
}
