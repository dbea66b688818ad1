//===----------------------------------------------------------------------===//
// ImageGate: ImageService: construction, bootstrap, authentication, scoping and audit helpers.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import ImageCatalog

/// Everything the management API and the CLI may do to the catalog, with authorization, the lifecycle
/// rules and the audit log applied in one place. Blocking and thread-safe like the store beneath it.
///
/// Order of checks for an operation on an object: (1) does the object exist *and* belong to a tenant the
/// caller sees? otherwise `.notFound`, with the same message as a missing object, so no answer reveals
/// another tenant's ids; (2) does the caller's role allow it? otherwise `.permissionDenied` (audited as
/// "denied"); (3) is the input valid? `.invalidRequest`; (4) is it legal in the current status?
/// `.conflict`. Every successful write appends exactly one audit event.
public final class ImageService: Sendable {
    public let store: any CatalogStore
    public let blobs: any BlobStorage
    public let clock: any WallClock
    /// Seconds an image stays in the recycle bin before `purgeExpired` destroys it.
    public let retention: Int64
    /// The webhook outbox's door (Docs/webhooks.md): every image, link and download event goes through it.
    public let webhookEvents: WebhookEvents

    /// `lastUsedAt` of an API key is refreshed at most this often, so authentication is not a write per request.
    static let lastUsedResolution: Int64 = 60

    public init(store: any CatalogStore, blobs: any BlobStorage, clock: any WallClock, retention: Int64) {
        self.store = store
        self.blobs = blobs
        self.clock = clock
        self.retention = retention
        self.webhookEvents = WebhookEvents(store: store, clock: clock)
    }

    // MARK: Bootstrap and authentication

    /// The shared document that names the first platform administrator's account id (bootstrap).
    static let bootstrapAdminDocument = "bootstrap.admin-account"

    /// Ensures the default tenant (`TenantID.defaultTenant`, "default") and one platform-admin account exist.
    /// When it creates the admin it also creates an API key and returns its secret, once.
    public func bootstrap() throws(GateError) -> (admin: Account, newAdminKeySecret: String?) {
        let now = clock.now()
        if try store.tenant(.defaultTenant) == nil {
            do {
                try store.insertTenant(Tenant(id: .defaultTenant, name: "default", createdAt: now))
            } catch  where error.code == .alreadyExists {
                // Another process bootstrapped at the same moment.
            }
        }
        if let admin = try store.accounts(tenant: nil).first(where: { $0.kind == .platformAdmin }) {
            return (admin, nil)
        }
        // Several processes (nodes, CLIs) may find an empty catalog at once. The first administrator's id is
        // agreed on through a compare-and-swap document, so all of them name the same account; exactly one
        // insert of it succeeds, and only that process makes (and writes out) the administrator's API key.
        let agreed = try store.putDocument(Self.bootstrapAdminDocument, body: Account.newID(), expectedVersion: nil)
        let admin = Account(
            id: agreed.document.body, tenant: nil, kind: .platformAdmin, permission: .manage, name: "admin",
            createdAt: now)
        do {
            try store.insertAccount(admin)
        } catch  where error.code == .alreadyExists {
            guard let existing = try store.account(admin.id) else { throw error }
            return (existing, nil)
        }
        record(
            .system, "account.create", target: admin.id, targetTenant: nil, source: "bootstrap",
            detail: ["kind": admin.kind.rawValue, "name": admin.name])
        let (info, secret) = try newKey(for: admin, expiresAt: nil)
        record(
            .system, "apikey.create", target: info.keyID, targetTenant: nil, source: "bootstrap",
            detail: ["account": admin.id])
        return (admin, secret)
    }

    /// The principal an API key (`Authorization: Bearer <secret>`) stands for, or nil — malformed, unknown,
    /// wrong secret, revoked, expired, or a disabled account — with an "auth.failure" audit event.
    /// The stored hash is compared in constant time.
    public func authenticate(apiKey: String, source: String) -> Principal? {
        let now = clock.now()
        guard let keyID = APIKeySecret.keyID(of: apiKey) else {
            // The presented text is never logged: it may be a real secret with a typo.
            authFailure("anonymous", reason: "malformed", tenant: nil, source: source)
            return nil
        }
        let presented = Crypto.sha256(Array(apiKey.utf8))
        guard let found = (try? store.apiKey(keyID)) ?? nil else {
            authFailure(keyID, reason: "unknown_key", tenant: nil, source: source)
            return nil
        }
        let account = (try? store.account(found.info.accountID)) ?? nil
        let stored = Hex.decode(found.secretHash) ?? []
        guard Crypto.constantTimeEqual(presented, stored) else {
            authFailure(keyID, reason: "bad_secret", tenant: account?.tenant, source: source)
            return nil
        }
        let reason: String? =
            if found.info.revokedAt != nil { "revoked" } else if let exp = found.info.expiresAt, exp <= now {
                "expired"
            } else if account == nil { "no_account" } else if account?.disabled == true { "account_disabled" } else {
                nil
            }
        guard reason == nil, let account else {
            authFailure(keyID, reason: reason ?? "no_account", tenant: account?.tenant, source: source)
            return nil
        }
        if now - (found.info.lastUsedAt ?? .min / 2) >= Self.lastUsedResolution {
            try? store.markAPIKeyUsed(keyID, at: now)
        }
        return Principal(account: account)
    }

    private func authFailure(_ actor: String, reason: String, tenant: TenantID?, source: String) {
        audit(
            nil, actor: actor, action: "auth.failure", target: actor, targetTenant: tenant, source: source,
            outcome: "denied", detail: ["reason": reason])
    }

    // MARK: Audit

    /// Appends an event for the app (downloads, imports). `p` nil = an unauthenticated caller ("anonymous").
    public func audit(
        _ p: Principal?, action: String, target: String, targetTenant: TenantID?, source: String, outcome: String,
        detail: [String: String]
    ) {
        audit(
            p, actor: p?.accountID ?? "anonymous", action: action, target: target, targetTenant: targetTenant,
            source: source, outcome: outcome, detail: detail)
    }

    private func audit(
        _ p: Principal?, actor: String, action: String, target: String, targetTenant: TenantID?, source: String,
        outcome: String, detail: [String: String]
    ) {
        let draft = AuditDraft(
            time: clock.now(), actor: actor, actorTenant: p?.tenant, action: action, target: target,
            targetTenant: targetTenant, source: source, outcome: outcome, detail: detail)
        // Best effort by design: the change it describes has already committed, and failing the caller now
        // would report a write that happened as one that did not. A lost event shows up as a missing
        // record, never as a broken chain.
        _ = try? store.appendAudit(draft)
    }

    /// One "ok" event for a service write; a platform admin's write into a tenant is marked cross-tenant.
    func record(
        _ p: Principal, _ action: String, target: String, targetTenant: TenantID?, source: String,
        detail: [String: String] = [:]
    ) {
        var detail = detail
        if p.isPlatformAdmin, p != .system, targetTenant != nil { detail["cross_tenant"] = "true" }
        audit(
            p, action: action, target: target, targetTenant: targetTenant, source: source, outcome: "ok",
            detail: detail)
    }

    /// A platform admin reading a tenant's objects (Docs/protocols.md §7.4: allowed and audited).
    func recordCrossTenantRead(_ p: Principal, _ operation: String, target: String, targetTenant: TenantID?) {
        guard p.isPlatformAdmin, p != .system else { return }
        audit(
            p, action: "cross_tenant_access", target: target, targetTenant: targetTenant, source: "api",
            outcome: "ok", detail: ["operation": operation])
    }

    // MARK: Scoping and role checks

    /// The tenant a non-admin is confined to; nil (= all) for platform admins.
    func scope(_ p: Principal) throws(GateError) -> TenantID? {
        if p.isPlatformAdmin { return nil }
        guard let tenant = p.tenant else { throw GateError(.permissionDenied, "the account belongs to no tenant") }
        return tenant
    }

    /// The image if it exists and the caller sees its tenant; otherwise the same `.notFound` either way.
    func visibleImage(_ p: Principal, _ id: ImageID) throws(GateError) -> ImageRecord {
        guard let record = try store.image(id), p.sees(record.tenant) else { throw .notFound("no image \(id)") }
        return record
    }

    /// Throws `.permissionDenied` (and audits the denial) unless the caller's role has `capability`.
    func require(
        _ p: Principal, _ capability: Capability, action: String, target: String, targetTenant: TenantID?,
        source: String
    ) throws(GateError) {
        guard !p.may(capability) else { return }
        audit(
            p, action: action, target: target, targetTenant: targetTenant, source: source, outcome: "denied",
            detail: ["reason": "role lacks \(capability.rawValue)"])
        throw GateError(.permissionDenied, Refusal.message(p, action))
    }

    func denied(_ p: Principal, action: String, target: String, targetTenant: TenantID?, source: String, _ why: String)
        -> GateError
    {
        audit(
            p, action: action, target: target, targetTenant: targetTenant, source: source, outcome: "denied",
            detail: ["reason": why])
        return GateError(.permissionDenied, Refusal.message(p, action))
    }
}

/// Refusals in plain words: "your account (view only) may not delete images" rather than an audit action name.
enum Refusal {
    /// What each audited action is, in the words of the sentence "may not …".
    static let actions: [String: String] = [
        "image.import": "import images", "image.update": "change images", "image.delete": "delete images",
        "image.restore": "restore images", "image.destroy": "destroy images for good",
        "image.cancel": "cancel imports", "link.mint": "make download links",
        "link.revoke": "revoke download links made by others", "vm.attach": "record VMs on images",
        "vm.detach": "release VM references", "tenant.create": "create tenants",
        "account.create": "create accounts", "account.list": "list accounts", "account.update": "change accounts",
        "apikey.create": "create API keys", "apikey.list": "list these API keys",
        "apikey.revoke": "revoke API keys", "apikey.rotate": "rotate this API key", "audit.read": "read the audit log",
        "webhook.add": "add webhooks", "webhook.list": "see webhooks", "webhook.remove": "remove webhooks",
    ]

    /// The caller's role as the console names it.
    static func role(_ p: Principal) -> String {
        switch p.kind {
        case .platformAdmin: "administrator"
        case .tenantOwner: "tenant owner"
        case .subAccount: p.permission == .manage ? "manage" : "view only"
        }
    }

    static func message(_ p: Principal, _ action: String) -> String {
        "your account (\(role(p))) may not \(actions[action] ?? String(action.map { $0 == "." ? " " : $0 }))"
    }
}
