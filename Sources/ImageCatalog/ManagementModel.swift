//===----------------------------------------------------------------------===//
// ImageGate: value types of tenants, accounts, API keys, VM references, audit events and image queries.
//===----------------------------------------------------------------------===//
import GateCore

// These live in ImageCatalog (not ImageManagement) because `CatalogStore` stores them; ImageManagement
// re-exports this module, so `import ImageManagement` sees them under the same names.

/// What kind of account a principal is.
public enum AccountKind: String, Sendable, Codable, CaseIterable {
    case platformAdmin = "platform_admin"
    case tenantOwner = "tenant"
    case subAccount = "sub_account"
}

/// What a sub-account may do inside its tenant. Admins and tenant owners always have `manage`.
public enum Permission: String, Sendable, Codable, CaseIterable {
    case view, manage
}

public struct Tenant: Sendable, Equatable {
    public let id: TenantID
    public var name: String
    public let createdAt: Int64

    public init(id: TenantID, name: String, createdAt: Int64) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

public struct Account: Sendable, Equatable {
    public static let idPrefix = "acc-"
    /// "acc-<32 hex>", or a fixed name for built-in principals ("local-admin", "system") that have no row.
    public let id: String
    /// nil only for platform admins.
    public let tenant: TenantID?
    public let kind: AccountKind
    public var permission: Permission
    public var name: String
    public let createdAt: Int64
    public var disabled: Bool

    public init(
        id: String, tenant: TenantID?, kind: AccountKind, permission: Permission, name: String, createdAt: Int64,
        disabled: Bool = false
    ) {
        self.id = id
        self.tenant = tenant
        self.kind = kind
        self.permission = permission
        self.name = name
        self.createdAt = createdAt
        self.disabled = disabled
    }

    /// A fresh random account id, `acc-<32 hex>`.
    public static func newID() -> String { idPrefix + ImageRecord.newID().raw.hex }
}

/// The public part of an API key. The secret itself is never stored (only its SHA-256).
public struct APIKeyInfo: Sendable, Equatable {
    /// "igk_<12 hex>": the public key id, also the first 16 characters of the secret.
    public let keyID: String
    public let accountID: String
    public let createdAt: Int64
    public var lastUsedAt: Int64?
    public var revokedAt: Int64?
    public let expiresAt: Int64?

    public init(
        keyID: String, accountID: String, createdAt: Int64, lastUsedAt: Int64? = nil, revokedAt: Int64? = nil,
        expiresAt: Int64? = nil
    ) {
        self.keyID = keyID
        self.accountID = accountID
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
        self.expiresAt = expiresAt
    }
}

/// A VM created from an image. While one exists the image cannot be deleted.
public struct VMReference: Sendable, Equatable {
    public let vmID: String
    public let imageID: ImageID
    public let createdAt: Int64

    public init(vmID: String, imageID: ImageID, createdAt: Int64) {
        self.vmID = vmID
        self.imageID = imageID
        self.createdAt = createdAt
    }
}

/// Whitelisted sort columns of the image list (the only way a caller influences ORDER BY).
public enum ImageSort: String, Sendable, CaseIterable, Codable {
    case name
    case createdAt = "created_at"
    case updatedAt = "updated_at"
    case size, status
}

/// Filters, sort and page of an image list. Every value reaches SQL as a bound parameter.
public struct ImageQuery: Sendable, Equatable {
    /// nil = every status except `deleted` (the recycle bin is listed separately).
    public var statuses: [ImageStatus]? = nil
    public var kind: ImageKind? = nil
    /// Exact match, ASCII case-insensitive.
    public var systemType: String? = nil
    public var architecture: String? = nil
    /// Images carrying exactly this tag.
    public var tag: String? = nil
    /// Substring of the name (ASCII case-insensitive) or of the id.
    public var search: String? = nil
    /// Platform admin filter; forced to the caller's own tenant for everyone else.
    public var tenant: TenantID? = nil
    public var sort: ImageSort = .createdAt
    public var descending = true
    public var offset = 0
    /// 1...500.
    public var limit = 50

    public static let maxLimit = 500

    public init() {}

    /// The page bounds every store enforces itself, so a store called directly never runs an unbounded query;
    /// the service passes `maxOffset` (and checks the text filters too).
    public func checkPage(maxOffset: Int? = nil) throws(GateError) {
        guard (1...Self.maxLimit).contains(limit) else {
            throw .invalid("limit must be between 1 and \(Self.maxLimit)")
        }
        if let maxOffset {
            guard (0...maxOffset).contains(offset) else { throw .invalid("offset must be between 0 and \(maxOffset)") }
        } else {
            guard offset >= 0 else { throw .invalid("offset must not be negative") }
        }
    }

    /// The statuses to list as one bound text, `,available,failed,`: both stores match a row's status with a
    /// search for `,<status>,` in it, so the list stays one parameter whatever its length.
    public var statusListText: String {
        let statuses = statuses ?? ImageStatus.allCases.filter { $0 != .deleted }
        return "," + statuses.map(\.rawValue).joined(separator: ",") + ","
    }

    /// ` ORDER BY <column> DESC, id DESC`: the id breaks ties, so pages never repeat or skip a row. `column`
    /// comes from the store's whitelist of sort columns, never from the caller.
    public func orderClause(column: String) -> String {
        let direction = descending ? " DESC" : " ASC"
        return " ORDER BY " + column + direction + ", id" + direction
    }
}

public struct ImagePage: Sendable, Equatable {
    public let items: [ImageRecord]
    /// Matching images in all pages.
    public let total: Int
    public let offset: Int
    public let limit: Int

    public init(items: [ImageRecord], total: Int, offset: Int, limit: Int) {
        self.items = items
        self.total = total
        self.offset = offset
        self.limit = limit
    }
}
