//===----------------------------------------------------------------------===//
// ImageGate: webhook registrations and the delivery outbox (Docs/webhooks.md).
//===----------------------------------------------------------------------===//
import GateCore

/// An administrator's registration of an endpoint for some event types.
public struct Webhook: Sendable, Equatable {
    public static let idPrefix = "whk-"

    /// `whk-<32 hex>`.
    public var id: String
    /// Checked against the SSRF rules when added and again at every delivery (the address may change).
    public var url: String
    /// Event types, e.g. "image.available"; sorted, no duplicates.
    public var events: [String]
    /// The HMAC key of the signature header (its UTF-8 bytes); shown once when the webhook is added.
    public var secret: String
    /// Account id of the administrator who added it.
    public var createdBy: String
    public var createdAt: Int64
    public var enabled: Bool

    public init(
        id: String, url: String, events: [String], secret: String, createdBy: String, createdAt: Int64,
        enabled: Bool = true
    ) {
        self.id = id
        self.url = url
        self.events = Array(Set(events)).sorted()
        self.secret = secret
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.enabled = enabled
    }

    public static func newID() -> String { idPrefix + ImageRecord.newID().raw.hex }

    public func subscribes(to type: String) -> Bool { enabled && events.contains(type) }
}

/// Something that happened, as every subscribed webhook receives it.
public struct WebhookEvent: Sendable, Equatable {
    public static let idPrefix = "evt-"

    /// `evt-<32 hex>`: the same for every webhook that receives the event, so a receiver can drop repeats.
    public var id: String
    public var type: String
    /// Unix seconds.
    public var time: Int64
    /// The image the event is about, if any: deliveries for one image and webhook go out in event order.
    public var image: String?
    /// A JSON object (the body's `data`).
    public var data: String

    public init(id: String = WebhookEvent.newID(), type: String, time: Int64, image: String?, data: String) {
        self.id = id
        self.type = type
        self.time = time
        self.image = image
        self.data = data
    }

    public static func newID() -> String { idPrefix + ImageRecord.newID().raw.hex }
}

/// Where a delivery stands: `pending` (not yet delivered, retried on schedule), `delivered` (a 2xx answer), or
/// `failed` (given up after the retry period).
public enum WebhookDeliveryState: String, Sendable, Equatable, CaseIterable {
    case pending, delivered, failed
}

/// One event for one webhook: the outbox row and, once done, its delivery log entry.
public struct WebhookDelivery: Sendable, Equatable {
    /// Catalog-wide order of enqueueing.
    public var seq: Int64
    public var webhookID: String
    public var event: WebhookEvent
    /// Attempts made so far.
    public var attempts: Int
    /// When the next attempt is due (pending only).
    public var nextAttemptAt: Int64
    public var state: WebhookDeliveryState
    /// The HTTP status of the last attempt, nil when no answer came (connection refused, timeout, SSRF refusal).
    public var lastStatus: Int?
    public var lastError: String?
    /// When the last attempt ended (nil before the first).
    public var lastAttemptAt: Int64?

    public init(
        seq: Int64, webhookID: String, event: WebhookEvent, attempts: Int, nextAttemptAt: Int64,
        state: WebhookDeliveryState, lastStatus: Int?, lastError: String?, lastAttemptAt: Int64?
    ) {
        self.seq = seq
        self.webhookID = webhookID
        self.event = event
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.state = state
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.lastAttemptAt = lastAttemptAt
    }
}

/// How one delivery attempt ended, as the worker records it.
public enum WebhookAttemptOutcome: Sendable, Equatable {
    case delivered(status: Int)
    /// Try again at `at`.
    case retry(at: Int64, status: Int?, error: String)
    /// The retry period is over: the delivery is `failed` for good.
    case gaveUp(status: Int?, error: String)
}
