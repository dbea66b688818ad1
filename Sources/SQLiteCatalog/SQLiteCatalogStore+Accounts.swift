//===----------------------------------------------------------------------===//
// ImageGate: SQLite store, tenants, accounts and API keys (hashes only).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension SQLiteCatalogStore {
    // MARK: Tenants

    public func insertTenant(_ tenant: Tenant) throws(GateError) {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare("INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)")
            try stmt.bind(1, tenant.id.description)
            try stmt.bind(2, tenant.name)
            try stmt.bind(3, tenant.createdAt)
            try stmt.step()
        }
    }

    public func tenant(_ id: TenantID) throws(GateError) -> Tenant? {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare("SELECT id, name, created_at FROM tenants WHERE id = ?1")
            try stmt.bind(1, id.description)
            guard try stmt.step() else { return nil }
            return try Self.decodeTenant(stmt)
        }
    }

    public func tenants() throws(GateError) -> [Tenant] {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare("SELECT id, name, created_at FROM tenants ORDER BY created_at, id")
            var out: [Tenant] = []
            while try stmt.step() { out.append(try Self.decodeTenant(stmt)) }
            return out
        }
    }

    private static func decodeTenant(_ stmt: SQLiteStatement) throws(GateError) -> Tenant {
        guard let id = TenantID(stmt.string(0)) else { throw ImageRow.damaged("tenant id '\(stmt.string(0))'") }
        return Tenant(id: id, name: stmt.string(1), createdAt: stmt.int64(2))
    }

    // MARK: Accounts

    public func insertAccount(_ account: Account) throws(GateError) {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                INSERT INTO accounts (id, tenant, kind, permission, name, created_at, disabled)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                """)
            try Self.bindAccount(account, stmt)
            try stmt.step()
        }
    }

    public func account(_ id: String) throws(GateError) -> Account? {
        try withConnection { db throws(GateError) in try Self.fetchAccount(db, id) }
    }

    public func accounts(tenant: TenantID?) throws(GateError) -> [Account] {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                SELECT id, tenant, kind, permission, name, created_at, disabled FROM accounts
                WHERE ?1 IS NULL OR tenant = ?1 ORDER BY created_at, id
                """)
            try stmt.bind(1, tenant?.description)
            var out: [Account] = []
            while try stmt.step() { out.append(try Self.decodeAccount(stmt)) }
            return out
        }
    }

    public func updateAccount(_ id: String, _ change: (inout Account) throws(GateError) -> Void) throws(GateError)
        -> Account
    {
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) -> Account in
                guard let before = try Self.fetchAccount(db, id) else { throw .notFound("no account \(id)") }
                var account = before
                try change(&account)
                guard account.id == before.id, account.tenant == before.tenant, account.kind == before.kind,
                    account.createdAt == before.createdAt
                else { throw .invalid("an account's id, tenant, kind and creation time cannot change") }
                if account == before { return before }
                let stmt = try db.prepare("UPDATE accounts SET permission = ?2, name = ?3, disabled = ?4 WHERE id = ?1")
                try stmt.bind(1, account.id)
                try stmt.bind(2, account.permission.rawValue)
                try stmt.bind(3, account.name)
                try stmt.bind(4, Int64(account.disabled ? 1 : 0))
                try stmt.step()
                return account
            }
        }
    }

    private static func bindAccount(_ a: Account, _ stmt: SQLiteStatement) throws(GateError) {
        try stmt.bind(1, a.id)
        try stmt.bind(2, a.tenant?.description)
        try stmt.bind(3, a.kind.rawValue)
        try stmt.bind(4, a.permission.rawValue)
        try stmt.bind(5, a.name)
        try stmt.bind(6, a.createdAt)
        try stmt.bind(7, Int64(a.disabled ? 1 : 0))
    }

    private static func fetchAccount(_ db: SQLiteConnection, _ id: String) throws(GateError) -> Account? {
        let stmt = try db.prepare(
            "SELECT id, tenant, kind, permission, name, created_at, disabled FROM accounts WHERE id = ?1")
        try stmt.bind(1, id)
        guard try stmt.step() else { return nil }
        return try decodeAccount(stmt)
    }

    private static func decodeAccount(_ stmt: SQLiteStatement) throws(GateError) -> Account {
        let id = stmt.string(0)
        var tenant: TenantID?
        if let text = stmt.optionalString(1) {
            guard let t = TenantID(text) else { throw ImageRow.damaged("tenant of account \(id)") }
            tenant = t
        }
        guard let kind = AccountKind(rawValue: stmt.string(2)), let permission = Permission(rawValue: stmt.string(3))
        else { throw ImageRow.damaged("kind or permission of account \(id)") }
        return Account(
            id: id, tenant: tenant, kind: kind, permission: permission, name: stmt.string(4),
            createdAt: stmt.int64(5), disabled: stmt.int64(6) != 0)
    }

    // MARK: API keys

    public func insertAPIKey(_ info: APIKeyInfo, secretHash: String) throws(GateError) {
        try withConnection { db throws(GateError) in try Self.insertKey(db, info, secretHash) }
    }

    private static func insertKey(_ db: SQLiteConnection, _ info: APIKeyInfo, _ hash: String) throws(GateError) {
        let stmt = try db.prepare(
            """
            INSERT INTO api_keys (key_id, account_id, secret_hash, created_at, last_used_at, revoked_at, expires_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """)
        try stmt.bind(1, info.keyID)
        try stmt.bind(2, info.accountID)
        try stmt.bind(3, hash)
        try stmt.bind(4, info.createdAt)
        try stmt.bind(5, info.lastUsedAt)
        try stmt.bind(6, info.revokedAt)
        try stmt.bind(7, info.expiresAt)
        try stmt.step()
    }

    public func apiKey(_ keyID: String) throws(GateError) -> (info: APIKeyInfo, secretHash: String)? {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                SELECT key_id, account_id, created_at, last_used_at, revoked_at, expires_at, secret_hash
                FROM api_keys WHERE key_id = ?1
                """)
            try stmt.bind(1, keyID)
            guard try stmt.step() else { return nil }
            return (Self.decodeKey(stmt), stmt.string(6))
        }
    }

    public func apiKeys(accountID: String?, tenant: TenantID?) throws(GateError) -> [APIKeyInfo] {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                SELECT k.key_id, k.account_id, k.created_at, k.last_used_at, k.revoked_at, k.expires_at
                FROM api_keys k JOIN accounts a ON a.id = k.account_id
                WHERE (?1 IS NULL OR k.account_id = ?1) AND (?2 IS NULL OR a.tenant = ?2)
                ORDER BY k.created_at, k.key_id
                """)
            try stmt.bind(1, accountID)
            try stmt.bind(2, tenant?.description)
            var out: [APIKeyInfo] = []
            while try stmt.step() { out.append(Self.decodeKey(stmt)) }
            return out
        }
    }

    private static func decodeKey(_ stmt: SQLiteStatement) -> APIKeyInfo {
        APIKeyInfo(
            keyID: stmt.string(0), accountID: stmt.string(1), createdAt: stmt.int64(2),
            lastUsedAt: stmt.optionalInt64(3), revokedAt: stmt.optionalInt64(4), expiresAt: stmt.optionalInt64(5))
    }

    @discardableResult
    public func revokeAPIKey(_ keyID: String, at time: Int64) throws(GateError) -> Bool {
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) -> Bool in try Self.revokeKey(db, keyID, time) }
        }
    }

    private static func revokeKey(_ db: SQLiteConnection, _ keyID: String, _ time: Int64) throws(GateError) -> Bool {
        let exists = try db.prepare("SELECT revoked_at FROM api_keys WHERE key_id = ?1")
        try exists.bind(1, keyID)
        guard try exists.step() else { throw .notFound("no API key \(keyID)") }
        if !exists.isNull(0) { return false }
        let stmt = try db.prepare("UPDATE api_keys SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL")
        try stmt.bind(1, keyID)
        try stmt.bind(2, time)
        try stmt.step()
        return true
    }

    public func markAPIKeyUsed(_ keyID: String, at time: Int64) throws(GateError) {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare("UPDATE api_keys SET last_used_at = ?2 WHERE key_id = ?1")
            try stmt.bind(1, keyID)
            try stmt.bind(2, time)
            try stmt.step()
        }
    }

    public func replaceAPIKey(revoking keyID: String, at time: Int64, with info: APIKeyInfo, secretHash: String)
        throws(GateError)
    {
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) in
                guard try Self.revokeKey(db, keyID, time) else { throw .conflict("API key \(keyID) is revoked") }
                try Self.insertKey(db, info, secretHash)
            }
        }
    }
}
