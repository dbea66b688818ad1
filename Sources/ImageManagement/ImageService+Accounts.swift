//===----------------------------------------------------------------------===//
// ImageGate: ImageService: tenants, accounts and API keys.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension ImageService {
    // MARK: Tenants

    /// A new tenant and its owner account (named "owner"). Platform admins only.
    public func createTenant(_ p: Principal, name: String, source: String) throws(GateError)
        -> (tenant: Tenant, owner: Account)
    {
        guard p.isPlatformAdmin else {
            throw denied(
                p, action: "tenant.create", target: "tenants", targetTenant: p.tenant, source: source,
                "platform admins only")
        }
        let name = try TextRules.label(name, field: "tenant name", max: 128)
        let now = clock.now()
        let tenant = Tenant(id: TenantID(ImageRecord.newID().raw), name: name, createdAt: now)
        let owner = Account(
            id: Account.newID(), tenant: tenant.id, kind: .tenantOwner, permission: .manage, name: "owner",
            createdAt: now)
        try store.insertTenant(tenant)
        try store.insertAccount(owner)
        record(
            p, "tenant.create", target: tenant.id.description, targetTenant: tenant.id, source: source,
            detail: ["name": name, "owner": owner.id])
        return (tenant, owner)
    }

    /// Admins: every tenant; everyone else: their own.
    public func tenants(_ p: Principal) throws(GateError) -> [Tenant] {
        guard let own = try scope(p) else { return try store.tenants() }
        return try store.tenant(own).map { [$0] } ?? []
    }

    // MARK: Accounts

    /// A sub-account with `permission`. Tenant owners create them in their own tenant (`tenant` nil or
    /// their own); platform admins in any existing tenant (`tenant` required).
    public func createAccount(
        _ p: Principal, tenant: TenantID?, name: String, permission: Permission, source: String
    ) throws(GateError) -> Account {
        let target: TenantID
        if p.isPlatformAdmin {
            guard let tenant else { throw .invalid("tenant is required") }
            guard try store.tenant(tenant) != nil else { throw .notFound("no tenant \(tenant)") }
            target = tenant
        } else {
            let own = try scope(p)!
            if let tenant, tenant != own { throw .notFound("no tenant \(tenant)") }
            target = own
        }
        try require(
            p, .manageAccounts, action: "account.create", target: "accounts", targetTenant: target,
            source: source)
        let name = try TextRules.label(name, field: "account name", max: 128)
        let account = Account(
            id: Account.newID(), tenant: target, kind: .subAccount, permission: permission, name: name,
            createdAt: clock.now())
        try store.insertAccount(account)
        record(
            p, "account.create", target: account.id, targetTenant: target, source: source,
            detail: ["name": name, "permission": permission.rawValue])
        return account
    }

    /// Admins: all accounts (or one tenant's); owners: their tenant's; sub-accounts: `.permissionDenied`.
    public func accounts(_ p: Principal, tenant: TenantID?) throws(GateError) -> [Account] {
        if p.isPlatformAdmin {
            recordCrossTenantRead(p, "account.list", target: "accounts", targetTenant: tenant)
            return try store.accounts(tenant: tenant)
        }
        let own = try scope(p)!
        if let tenant, tenant != own { throw .notFound("no tenant \(tenant)") }
        try require(p, .manageAccounts, action: "account.list", target: "accounts", targetTenant: own, source: "api")
        return try store.accounts(tenant: own)
    }

    /// Disables or re-enables an account (its keys stop or resume working at once). Owners manage their
    /// sub-accounts; admins any account. Nobody disables their own account.
    public func setAccountDisabled(_ p: Principal, accountID: String, disabled: Bool, source: String)
        throws(GateError) -> Account
    {
        let target = try visibleAccount(p, accountID)
        try require(
            p, .manageAccounts, action: "account.update", target: accountID, targetTenant: target.tenant,
            source: source)
        guard p.isPlatformAdmin || target.kind == .subAccount else {
            throw denied(
                p, action: "account.update", target: accountID, targetTenant: target.tenant, source: source,
                "owners manage sub-accounts only")
        }
        guard target.id != p.accountID else { throw .conflict("you cannot disable or enable your own account") }
        let after = try store.updateAccount(accountID) { (a: inout Account) throws(GateError) in a.disabled = disabled }
        record(
            p, "account.update", target: accountID, targetTenant: after.tenant, source: source,
            detail: ["disabled": String(disabled)])
        return after
    }

    /// The account if the caller sees its tenant (admins see all, including other admins).
    func visibleAccount(_ p: Principal, _ id: String) throws(GateError) -> Account {
        guard let account = try store.account(id), p.sees(account.tenant) else { throw .notFound("no account \(id)") }
        return account
    }

    /// The account an API key call names: its id, or its name when exactly one account the caller sees has
    /// that name (`--account admin` names the first platform administrator on every node, whose id differs per
    /// deployment). The local operator's built-in principal has no row: its keys go to the first platform
    /// administrator, which is what `imagegate apikey create` without `--account` means on a node's CLI.
    func keyAccount(_ p: Principal, _ idOrName: String) throws(GateError) -> Account {
        if let account = try store.account(idOrName), p.sees(account.tenant) { return account }
        let visible = try store.accounts(tenant: nil).filter { p.sees($0.tenant) }
        if idOrName == Principal.localAdmin.accountID, p.accountID == idOrName,
            let admin = visible.first(where: { $0.kind == .platformAdmin })
        {
            return admin
        }
        let named = visible.filter { $0.name == idOrName }
        guard named.count == 1 else {
            throw named.isEmpty
                ? .notFound("no account \(idOrName)")
                : .conflict("\(named.count) accounts are named \(idOrName): give the account id")
        }
        return named[0]
    }

    // MARK: API keys

    /// A new key for `accountID`; the secret is returned once and never stored. Tenant admins only
    /// (owners for accounts of their tenant). `expiresAt` must be in the future.
    public func createAPIKey(_ p: Principal, accountID: String, expiresAt: Int64?, source: String) throws(GateError)
        -> (info: APIKeyInfo, secret: String)
    {
        let account = try keyAccount(p, accountID)
        let accountID = account.id
        try require(
            p, .manageAccounts, action: "apikey.create", target: accountID, targetTenant: account.tenant,
            source: source)
        if let expiresAt, expiresAt <= clock.now() { throw .invalid("expiresAt must be in the future") }
        guard !account.disabled else { throw .conflict("account \(accountID) is disabled") }
        let key = try newKey(for: account, expiresAt: expiresAt)
        record(
            p, "apikey.create", target: key.info.keyID, targetTenant: account.tenant, source: source,
            detail: ["account": accountID])
        return key
    }

    func newKey(for account: Account, expiresAt: Int64?) throws(GateError) -> (info: APIKeyInfo, secret: String) {
        let (keyID, secret) = APIKeySecret.generate()
        let info = APIKeyInfo(keyID: keyID, accountID: account.id, createdAt: clock.now(), expiresAt: expiresAt)
        try store.insertAPIKey(info, secretHash: APIKeySecret.hash(secret))
        return (info, secret)
    }

    /// Key infos (never secrets). Admins: all or one account's; owners: their tenant's; sub-accounts: their own.
    public func apiKeys(_ p: Principal, accountID: String?) throws(GateError) -> [APIKeyInfo] {
        if let named = accountID {
            let account = try keyAccount(p, named)
            let accountID = account.id
            guard p.may(.manageAccounts) || accountID == p.accountID else {
                throw denied(
                    p, action: "apikey.list", target: accountID, targetTenant: account.tenant, source: "api",
                    "sub-accounts see their own keys only")
            }
            return try store.apiKeys(accountID: accountID, tenant: nil)
        }
        if p.isPlatformAdmin { return try store.apiKeys(accountID: nil, tenant: nil) }
        if p.may(.manageAccounts) { return try store.apiKeys(accountID: nil, tenant: try scope(p)) }
        return try store.apiKeys(accountID: p.accountID, tenant: nil)
    }

    /// Revokes a key at once (idempotent). Tenant admins only.
    public func revokeAPIKey(_ p: Principal, keyID: String, source: String) throws(GateError) {
        let (info, account) = try visibleKey(p, keyID)
        try require(
            p, .manageAccounts, action: "apikey.revoke", target: keyID, targetTenant: account.tenant,
            source: source)
        let changed = try store.revokeAPIKey(keyID, at: clock.now())
        record(
            p, "apikey.revoke", target: keyID, targetTenant: account.tenant, source: source,
            detail: ["account": info.accountID, "already_revoked": String(!changed)])
    }

    /// A new key for the same account with the same lifetime length; the old one is revoked in the same
    /// transaction. Tenant admins, and `manage` sub-accounts for their own keys.
    public func rotateAPIKey(_ p: Principal, keyID: String, source: String) throws(GateError)
        -> (info: APIKeyInfo, secret: String)
    {
        let (old, account) = try visibleKey(p, keyID)
        let own = old.accountID == p.accountID && p.permission == .manage
        guard p.may(.manageAccounts) || own else {
            throw denied(
                p, action: "apikey.rotate", target: keyID, targetTenant: account.tenant, source: source,
                "only tenant admins and the key's manage-permission owner rotate keys")
        }
        guard !account.disabled else { throw .conflict("account \(account.id) is disabled") }
        let now = clock.now()
        let (newID, secret) = APIKeySecret.generate()
        let expiresAt = old.expiresAt.map { now + max(0, $0 - old.createdAt) }
        let info = APIKeyInfo(keyID: newID, accountID: old.accountID, createdAt: now, expiresAt: expiresAt)
        try store.replaceAPIKey(revoking: keyID, at: now, with: info, secretHash: APIKeySecret.hash(secret))
        record(
            p, "apikey.rotate", target: keyID, targetTenant: account.tenant, source: source,
            detail: ["account": old.accountID, "new_key": newID])
        return (info, secret)
    }

    private func visibleKey(_ p: Principal, _ keyID: String) throws(GateError) -> (APIKeyInfo, Account) {
        guard let found = try store.apiKey(keyID), let account = try store.account(found.info.accountID),
            p.sees(account.tenant)
        else { throw .notFound("no API key \(keyID)") }
        return (found.info, account)
    }
}
