//===----------------------------------------------------------------------===//
// ImageGate: PostgreSQL store, tenants, accounts and API keys (hashes only).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import PostgresClient

extension PostgresCatalogStore {
    // MARK: Tenants

    public func insertTenant(_ tenant: Tenant) throws(GateError) {
        try inTransaction { c in
            try c.query(
                "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)",
                [.text(tenant.id.description), .text(tenant.name), .int(tenant.createdAt)])
        }
    }

    public func tenant(_ id: TenantID) throws(GateError) -> Tenant? {
        try withConnection { c in
            try c.query("SELECT id, name, created_at FROM tenants WHERE id = $1", [.text(id.description)])
                .first.map(Self.decodeTenant)
        }
    }

    public func tenants() throws(GateError) -> [Tenant] {
        try withConnection { c in
            try c.query("SELECT id, name, created_at FROM tenants ORDER BY created_at, id").rows.map(Self.decodeTenant)
        }
    }

    private static func decodeTenant(_ row: PostgresRow) throws -> Tenant {
        let text = try row.string(0)
        guard let id = TenantID(text) else { throw PostgresImageRow.damaged("tenant id '\(text)'") }
        return Tenant(id: id, name: try row.string(1), createdAt: try row.int64(2))
    }

    // MARK: Accounts

    private static let accountColumns = "id, tenant, kind, permission, name, created_at, disabled"

    public func insertAccount(_ account: Account) throws(GateError) {
        try inTransaction { c in
            try c.query(
                """
                INSERT INTO accounts (id, tenant, kind, permission, name, created_at, disabled)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                [
                    .text(account.id), .text(account.tenant?.description), .text(account.kind.rawValue),
                    .text(account.permission.rawValue), .text(account.name), .int(account.createdAt),
                    .bool(account.disabled),
                ])
        }
    }

    public func account(_ id: String) throws(GateError) -> Account? {
        try withConnection { c in try Self.fetchAccount(c, id, forUpdate: false) }
    }

    public func accounts(tenant: TenantID?) throws(GateError) -> [Account] {
        try withConnection { c in
            try c.query(
                composed: "SELECT \(Self.accountColumns) FROM accounts WHERE $1::text IS NULL OR tenant = $1 "
                    + "ORDER BY created_at, id",
                [.text(tenant?.description)]
            ).rows.map(Self.decodeAccount)
        }
    }

    public func updateAccount(_ id: String, _ change: (inout Account) throws(GateError) -> Void) throws(GateError)
        -> Account
    {
        try inTransaction { c in
            guard let before = try Self.fetchAccount(c, id, forUpdate: true) else {
                throw GateError.notFound("no account \(id)")
            }
            var account = before
            try change(&account)
            guard account.id == before.id, account.tenant == before.tenant, account.kind == before.kind,
                account.createdAt == before.createdAt
            else { throw GateError.invalid("an account's id, tenant, kind and creation time cannot change") }
            if account == before { return before }
            try c.query(
                "UPDATE accounts SET permission = $2, name = $3, disabled = $4 WHERE id = $1",
                [.text(account.id), .text(account.permission.rawValue), .text(account.name), .bool(account.disabled)])
            return account
        }
    }

    private static func fetchAccount(_ c: PostgresConnection, _ id: String, forUpdate: Bool) throws -> Account? {
        let sql = "SELECT \(accountColumns) FROM accounts WHERE id = $1" + (forUpdate ? " FOR UPDATE" : "")
        return try c.query(composed: sql, [.text(id)]).first.map(decodeAccount)
    }

    private static func decodeAccount(_ row: PostgresRow) throws -> Account {
        let id = try row.string(0)
        var tenant: TenantID?
        if let text = try row.optionalString(1) {
            guard let t = TenantID(text) else { throw PostgresImageRow.damaged("tenant of account \(id)") }
            tenant = t
        }
        guard let kind = AccountKind(rawValue: try row.string(2)),
            let permission = Permission(rawValue: try row.string(3))
        else { throw PostgresImageRow.damaged("kind or permission of account \(id)") }
        return Account(
            id: id, tenant: tenant, kind: kind, permission: permission, name: try row.string(4),
            createdAt: try row.int64(5), disabled: try row.bool(6))
    }

    // MARK: API keys

    public func insertAPIKey(_ info: APIKeyInfo, secretHash: String) throws(GateError) {
        try inTransaction { c in try Self.insertKey(c, info, secretHash) }
    }

    private static func insertKey(_ c: PostgresConnection, _ info: APIKeyInfo, _ hash: String) throws {
        try c.query(
            """
            INSERT INTO api_keys (key_id, account_id, secret_hash, created_at, last_used_at, revoked_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """,
            [
                .text(info.keyID), .text(info.accountID), .text(hash), .int(info.createdAt), .int(info.lastUsedAt),
                .int(info.revokedAt), .int(info.expiresAt),
            ])
    }

    public func apiKey(_ keyID: String) throws(GateError) -> (info: APIKeyInfo, secretHash: String)? {
        try withConnection { c in
            let rows = try c.query(
                """
                SELECT key_id, account_id, created_at, last_used_at, revoked_at, expires_at, secret_hash
                FROM api_keys WHERE key_id = $1
                """, [.text(keyID)])
            guard let row = rows.first else { return nil }
            return (try Self.decodeKey(row), try row.string(6))
        }
    }

    public func apiKeys(accountID: String?, tenant: TenantID?) throws(GateError) -> [APIKeyInfo] {
        try withConnection { c in
            try c.query(
                """
                SELECT k.key_id, k.account_id, k.created_at, k.last_used_at, k.revoked_at, k.expires_at
                FROM api_keys k JOIN accounts a ON a.id = k.account_id
                WHERE ($1::text IS NULL OR k.account_id = $1) AND ($2::text IS NULL OR a.tenant = $2)
                ORDER BY k.created_at, k.key_id
                """, [.text(accountID), .text(tenant?.description)]
            ).rows.map(Self.decodeKey)
        }
    }

    private static func decodeKey(_ row: PostgresRow) throws -> APIKeyInfo {
        APIKeyInfo(
            keyID: try row.string(0), accountID: try row.string(1), createdAt: try row.int64(2),
            lastUsedAt: try row.optionalInt64(3), revokedAt: try row.optionalInt64(4),
            expiresAt: try row.optionalInt64(5))
    }

    @discardableResult
    public func revokeAPIKey(_ keyID: String, at time: Int64) throws(GateError) -> Bool {
        try inTransaction { c in try Self.revokeKey(c, keyID, time) }
    }

    private static func revokeKey(_ c: PostgresConnection, _ keyID: String, _ time: Int64) throws -> Bool {
        guard
            let row = try c.query("SELECT revoked_at FROM api_keys WHERE key_id = $1 FOR UPDATE", [.text(keyID)]).first
        else { throw GateError.notFound("no API key \(keyID)") }
        if try !row.isNull(0) { return false }
        try c.query("UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1", [.text(keyID), .int(time)])
        return true
    }

    public func markAPIKeyUsed(_ keyID: String, at time: Int64) throws(GateError) {
        try inTransaction { c in
            try c.query("UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1", [.text(keyID), .int(time)])
        }
    }

    public func replaceAPIKey(revoking keyID: String, at time: Int64, with info: APIKeyInfo, secretHash: String)
        throws(GateError)
    {
        try inTransaction { c in
            guard try Self.revokeKey(c, keyID, time) else { throw GateError.conflict("API key \(keyID) is revoked") }
            try Self.insertKey(c, info, secretHash)
        }
    }
}
