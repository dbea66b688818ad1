//===----------------------------------------------------------------------===//
// ImageGate: audit events, their canonical encoding and the SHA-256 hash chain.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore

/// An audit event before the store numbers and chains it.
public struct AuditDraft: Sendable, Equatable {
    public var time: Int64
    /// Account id of the principal, "system", or a key id / "anonymous" for authentication failures.
    public var actor: String
    public var actorTenant: TenantID?
    /// e.g. "image.delete", "link.mint", "auth.failure", "cross_tenant_access".
    public var action: String
    /// Object id (image, account, key id, serial, tenant).
    public var target: String
    public var targetTenant: TenantID?
    /// Where the request came from ("203.0.113.7:51234", "cli", "system").
    public var source: String
    /// "ok" | "denied" | "error".
    public var outcome: String
    /// Extra facts; never secrets.
    public var detail: [String: String]

    public init(
        time: Int64, actor: String, actorTenant: TenantID?, action: String, target: String, targetTenant: TenantID?,
        source: String, outcome: String, detail: [String: String] = [:]
    ) {
        self.time = time
        self.actor = actor
        self.actorTenant = actorTenant
        self.action = action
        self.target = target
        self.targetTenant = targetTenant
        self.source = source
        self.outcome = outcome
        self.detail = detail
    }
}

/// One stored audit event. `hash` = hex SHA-256 of (previous event's hash as 64 hex characters, or 64
/// zeros for the first) followed by `canonicalEncoding`, so editing, inserting or deleting any row breaks
/// the chain from that row on.
public struct AuditEvent: Sendable, Equatable {
    public let seq: Int64
    public let time: Int64
    public let actor: String
    public let actorTenant: TenantID?
    public let action: String
    public let target: String
    public let targetTenant: TenantID?
    public let source: String
    public let outcome: String
    public let detail: [String: String]
    public let hash: String

    public static let genesisHash = String(repeating: "0", count: 64)

    public init(seq: Int64, draft d: AuditDraft, hash: String) {
        self.seq = seq
        self.time = d.time
        self.actor = d.actor
        self.actorTenant = d.actorTenant
        self.action = d.action
        self.target = d.target
        self.targetTenant = d.targetTenant
        self.source = d.source
        self.outcome = d.outcome
        self.detail = d.detail
        self.hash = hash
    }

    public var draft: AuditDraft {
        AuditDraft(
            time: time, actor: actor, actorTenant: actorTenant, action: action, target: target,
            targetTenant: targetTenant, source: source, outcome: outcome, detail: detail)
    }

    /// JSON object with a fixed key order and `detail` keys sorted by their UTF-8 bytes: one text per event.
    public static func canonicalEncoding(seq: Int64, _ d: AuditDraft) -> String {
        func q(_ s: String?) -> String { s.map(JSONText.quote) ?? "null" }
        return "{\"seq\":\(seq),\"time\":\(d.time),\"actor\":\(q(d.actor)),"
            + "\"actor_tenant\":\(q(d.actorTenant?.description)),\"action\":\(q(d.action)),"
            + "\"target\":\(q(d.target)),\"target_tenant\":\(q(d.targetTenant?.description)),"
            + "\"source\":\(q(d.source)),\"outcome\":\(q(d.outcome)),\"detail\":\(encodeDetail(d.detail))}"
    }

    /// The `detail` column: a JSON object with keys in UTF-8 byte order.
    public static func encodeDetail(_ detail: [String: String]) -> String {
        let keys = detail.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        return "{" + keys.map { JSONText.quote($0) + ":" + JSONText.quote(detail[$0]!) }.joined(separator: ",") + "}"
    }

    public static func chainHash(previous: String, seq: Int64, _ d: AuditDraft) -> String {
        Hex.encode(Crypto.sha256(Array(previous.utf8) + Array(canonicalEncoding(seq: seq, d).utf8)))
    }
}
