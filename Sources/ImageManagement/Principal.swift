//===----------------------------------------------------------------------===//
// ImageGate: the authenticated caller (principal) and what each kind of caller may do.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

/// Who is calling. Built from an `Account` by `ImageService.authenticate`, or one of the built-ins.
public struct Principal: Sendable, Equatable {
    public let accountID: String
    public let name: String
    public let kind: AccountKind
    /// nil only for platform admins.
    public let tenant: TenantID?
    /// `.manage` for admins and tenant owners; a sub-account's granted permission otherwise.
    public let permission: Permission

    public init(accountID: String, name: String, kind: AccountKind, tenant: TenantID?, permission: Permission) {
        self.accountID = accountID
        self.name = name
        self.kind = kind
        // A platform admin belongs to no tenant, and everyone else to exactly one; admins and owners
        // always manage. Normalizing here means no caller can build a half-admin.
        self.tenant = kind == .platformAdmin ? nil : tenant
        self.permission = kind == .subAccount ? permission : .manage
    }

    public init(account: Account) {
        self.init(
            accountID: account.id, name: account.name, kind: account.kind, tenant: account.tenant,
            permission: account.permission)
    }

    public var isPlatformAdmin: Bool { kind == .platformAdmin }

    /// Platform admin or tenant owner: may manage accounts, keys, the audit log and destroy images.
    public var isTenantAdmin: Bool { kind != .subAccount }

    /// Internal jobs (retention purge), audited as actor "system".
    public static let system = Principal(
        accountID: "system", name: "system", kind: .platformAdmin, tenant: nil, permission: .manage)

    /// CLI commands run on the server host by someone with file-system access to the data directory:
    /// they could edit the database anyway, so they act as a platform admin (audited as "local-admin").
    public static let localAdmin = Principal(
        accountID: "local-admin", name: "local-admin", kind: .platformAdmin, tenant: nil, permission: .manage)

    /// Whether this principal may act on objects owned by `tenant` at all (else they are invisible: 404).
    public func sees(_ tenant: TenantID?) -> Bool {
        isPlatformAdmin || (self.tenant != nil && self.tenant == tenant)
    }

    /// Whether this principal's role includes `capability` (tenant scoping is checked separately).
    public func may(_ capability: Capability) -> Bool {
        switch kind {
        case .platformAdmin, .tenantOwner:
            return true
        case .subAccount:
            switch capability {
            case .viewImages, .mintLinks: return true
            case .manageImages, .manageLinks: return permission == .manage
            case .destroyImages, .manageAccounts, .readAudit: return false
            }
        }
    }
}

/// Role capabilities (Docs/protocols.md §7.1 mapped onto owner / sub-account manage / sub-account view).
/// API keys have their own rules (see `ImageService.createAPIKey` and Docs/management.md).
public enum Capability: String, Sendable, CaseIterable {
    /// List and show images, the recycle bin and VM references.
    case viewImages
    /// Edit, delete, restore; attach/detach VMs.
    case manageImages
    /// Destroy (purge from the recycle bin): tenant admins only.
    case destroyImages
    /// Mint download links (image readers may, Docs/protocols.md §7.1).
    case mintLinks
    /// Revoke download links.
    case manageLinks
    /// Create, list, disable accounts; create and revoke their API keys.
    case manageAccounts
    /// Read the tenant's audit log.
    case readAudit
}
