//===----------------------------------------------------------------------===//
// ImageGate: writing events to the webhook outbox (Docs/webhooks.md, "Events").
//===----------------------------------------------------------------------===//
import DownloadTokens
import GateCore
import ImageCatalog
import Synchronization

/// A value in an event's `data` object.
public enum WebhookValue: Sendable, Equatable {
    case text(String)
    case number(Int64)
    case list([String])
    case null
}

/// The one door to the outbox: every event (image, link, download) is written here, right after the change it
/// reports has committed, in its own catalog transaction (the changes are made by store calls that do not
/// take part in another transaction). A crash or catalog failure between the two loses that event; it never
/// reports a change that did not happen. Best effort like the audit log: a failure here never fails the change.
///
/// Events for which no webhook is registered cost no catalog write: the subscribed types are read at most
/// every `refreshNanoseconds` (so a webhook added by another process receives events from about 2 s later).
public final class WebhookEvents: Sendable {
    /// Every event type a webhook may subscribe to (issue #14 item 7).
    public static let types = [
        "image.available", "image.failed", "image.deleted", "link.minted", "link.first_use", "download.completed",
        "link.revoked", "link.exhausted",
    ]

    static let refreshNanoseconds: Int64 = 2_000_000_000

    private let store: any CatalogStore
    private let clock: any WallClock
    private let subscribed = Mutex<(types: Set<String>, readAt: Int64)?>(nil)

    public init(store: any CatalogStore, clock: any WallClock) {
        self.store = store
        self.clock = clock
    }

    /// Writes one event for every webhook subscribed to `type`. `image` orders it behind earlier events of the
    /// same image; `data` keys appear in the given order.
    public func emit(type: String, image: ImageID?, data: [(String, WebhookValue)]) {
        guard isSubscribed(type) else { return }
        let event = WebhookEvent(
            type: type, time: clock.now(), image: image?.description, data: Self.encode(data))
        _ = try? store.enqueueWebhookEvent(event)
    }

    /// Forgets the cached subscriptions (after this process added or removed a webhook).
    public func refresh() { subscribed.withLock { $0 = nil } }

    /// Whether some webhook wants `type` (cached; see above): lets a caller skip building an event's data.
    public func isSubscribed(_ type: String) -> Bool {
        let now = Monotonic.nanoseconds()
        if let cached = subscribed.withLock({ $0 }), now - cached.readAt < Self.refreshNanoseconds {
            return cached.types.contains(type)
        }
        // A catalog that cannot be read: try to write the event anyway, the enqueue decides.
        guard let hooks = try? store.webhooks() else { return true }
        let types = Set(hooks.filter(\.enabled).flatMap(\.events))
        subscribed.withLock { $0 = (types, now) }
        return types.contains(type)
    }

    // MARK: The events of the image lifecycle, links and downloads

    public func image(_ type: String, _ r: ImageRecord, reason: String? = nil) {
        var data: [(String, WebhookValue)] = [
            ("image_id", .text(r.id.description)), ("tenant", .text(r.tenant.description)), ("name", .text(r.name)),
            ("status", .text(r.status.rawValue)), ("generation", .number(Int64(r.generation))),
        ]
        if r.status == .available {
            data += [("size", .number(Int64(r.size))), ("sha256", .text(r.sha256))]
        }
        if let reason = reason ?? r.failureReason, type == "image.failed" { data.append(("reason", .text(reason))) }
        emit(type: type, image: r.id, data: data)
    }

    public func linkMinted(_ issue: TokenIssue, by account: String) {
        emit(
            type: "link.minted", image: issue.image,
            data: [
                ("serial", .text(issue.serial.hex)), ("image_id", .text(issue.image.description)),
                ("tenant", .text(issue.tenant.description)), ("minted_by", .text(account)),
                ("minted_at", .text(TimeFormat.rfc3339(issue.issuedAt))),
                ("expires_at", .text(TimeFormat.rfc3339(issue.expiresAt))),
                ("protocols", .list(Self.protocolNames(issue.protocols))),
            ])
    }

    public func linkRevoked(_ issue: TokenIssue, by account: String) {
        emit(
            type: "link.revoked", image: issue.image,
            data: [
                ("serial", .text(issue.serial.hex)), ("image_id", .text(issue.image.description)),
                ("tenant", .text(issue.tenant.description)), ("revoked_by", .text(account)),
            ])
    }

    /// For the link usage accounting: the first session a link opened (any front).
    public func linkFirstUse(_ issue: TokenIssue, protocol name: String, client: String) {
        emit(
            type: "link.first_use", image: issue.image,
            data: [
                ("serial", .text(issue.serial.hex)), ("image_id", .text(issue.image.description)),
                ("tenant", .text(issue.tenant.description)), ("protocol", .text(name)), ("client", .text(client)),
            ])
    }

    /// For the link usage accounting: the link's bytes served reached its max_downloads allowance.
    public func linkExhausted(_ issue: TokenIssue, bytesServed: UInt64, allowance: UInt64) {
        emit(
            type: "link.exhausted", image: issue.image,
            data: [
                ("serial", .text(issue.serial.hex)), ("image_id", .text(issue.image.description)),
                ("tenant", .text(issue.tenant.description)), ("bytes_served", .number(Int64(clamping: bytesServed))),
                ("allowance", .number(Int64(clamping: allowance))),
            ])
    }

    /// Issue #14's protocol names for a token's protocol bits: `https` (bit http), `http` (http-plain), `ftps`,
    /// `ftp` (ftp-plain), `sftp`.
    public static func protocolNames(_ bits: UInt16) -> [String] {
        let set = ProtocolSet(rawValue: bits)
        let names: [(ProtocolSet, String)] = [
            (.http, "https"), (.httpPlain, "http"), (.ftps, "ftps"), (.ftpPlain, "ftp"), (.sftp, "sftp"),
        ]
        return names.filter { set.contains($0.0) }.map(\.1)
    }

    /// The `data` object, keys in the given order.
    static func encode(_ data: [(String, WebhookValue)]) -> String {
        var out = "{"
        for (i, (key, value)) in data.enumerated() {
            if i > 0 { out += "," }
            out += JSONText.quote(key) + ":"
            switch value {
            case .text(let s): out += JSONText.quote(s)
            case .number(let n): out += String(n)
            case .list(let items): out += "[" + items.map(JSONText.quote).joined(separator: ",") + "]"
            case .null: out += "null"
            }
        }
        return out + "}"
    }
}
