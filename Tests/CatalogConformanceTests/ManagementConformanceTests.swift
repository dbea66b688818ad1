//===----------------------------------------------------------------------===//
// ImageGate: CatalogStore conformance: tenants, accounts, API keys, minted tokens and revocation.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Testing

@Suite struct ManagementConformanceTests {
    private func tenantID(_ n: UInt64) -> TenantID { TenantID(ID128(high: 0xAA, low: n)) }

    @Test(arguments: StoreKind.available) func tenantsOrderByCreationThenID(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        // Inserted out of id order with equal creation times: the id breaks the tie, not insertion order.
        let tenants = [
            Tenant(id: tenantID(3), name: "c", createdAt: 5), Tenant(id: tenantID(1), name: "a", createdAt: 5),
            Tenant(id: tenantID(2), name: "b", createdAt: 1),
        ]
        for t in tenants { try store.insertTenant(t) }
        #expect(try store.tenants().map(\.id) == [tenantID(2), tenantID(1), tenantID(3)])
        #expect(try store.tenant(tenantID(1)) == tenants[1])
        #expect(try store.tenant(tenantID(9)) == nil)
        let duplicate = #expect(throws: GateError.self) { try store.insertTenant(tenants[0]) }
        #expect(duplicate?.code == .alreadyExists)
    }

    @Test(arguments: StoreKind.available) func accountsFilterOrderAndUpdate(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        try store.insertTenant(Tenant(id: tenantID(1), name: "t1", createdAt: 1))
        try store.insertTenant(Tenant(id: tenantID(2), name: "t2", createdAt: 1))
        let admin = Account(
            id: "acc-9", tenant: nil, kind: .platformAdmin, permission: .manage, name: "admin", createdAt: 7)
        let owner = Account(
            id: "acc-5", tenant: tenantID(1), kind: .tenantOwner, permission: .manage, name: "o", createdAt: 7)
        let sub = Account(
            id: "acc-1", tenant: tenantID(1), kind: .subAccount, permission: .view, name: "s", createdAt: 7,
            disabled: true)
        let other = Account(
            id: "acc-0", tenant: tenantID(2), kind: .tenantOwner, permission: .manage, name: "x", createdAt: 8)
        for a in [admin, owner, sub, other] { try store.insertAccount(a) }
        #expect(try store.accounts(tenant: nil).map(\.id) == ["acc-1", "acc-5", "acc-9", "acc-0"])
        #expect(try store.accounts(tenant: tenantID(1)) == [sub, owner])
        #expect(try store.account("acc-1") == sub)
        #expect(try store.account("acc-404") == nil)
        #expect(throws: GateError.self) { try store.insertAccount(admin) }
        // A tenant account without its tenant row, and a platform admin with a tenant, are refused.
        #expect(throws: GateError.self) {
            try store.insertAccount(
                Account(id: "acc-x", tenant: tenantID(9), kind: .tenantOwner, permission: .view, name: "", createdAt: 1)
            )
        }
        #expect(throws: GateError.self) {
            try store.insertAccount(
                Account(
                    id: "acc-y", tenant: tenantID(1), kind: .platformAdmin, permission: .view, name: "", createdAt: 1))
        }

        let changed = try store.updateAccount("acc-1") { a throws(GateError) in
            a.disabled = false
            a.permission = .manage
            a.name = "renamed"
        }
        #expect(changed.name == "renamed" && !changed.disabled && changed.permission == .manage)
        #expect(try store.account("acc-1") == changed)
        #expect(try store.updateAccount("acc-1") { _ throws(GateError) in } == changed)
        let rolledBack = #expect(throws: GateError.self) {
            try store.updateAccount("acc-1") { a throws(GateError) in
                a.name = "half"
                throw .invalid("no")
            }
        }
        #expect(rolledBack == GateError.invalid("no"))
        #expect(try store.account("acc-1") == changed)
        let missing = #expect(throws: GateError.self) { try store.updateAccount("acc-404") { _ throws(GateError) in } }
        #expect(missing?.code == .notFound)
    }

    @Test(arguments: StoreKind.available) func apiKeysRotateAndRevoke(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        try store.insertTenant(Tenant(id: tenantID(1), name: "t1", createdAt: 1))
        try store.insertAccount(
            Account(id: "acc-a", tenant: nil, kind: .platformAdmin, permission: .manage, name: "a", createdAt: 1))
        try store.insertAccount(
            Account(id: "acc-t", tenant: tenantID(1), kind: .tenantOwner, permission: .manage, name: "t", createdAt: 1))
        let k2 = APIKeyInfo(keyID: "igk_000000000002", accountID: "acc-a", createdAt: 10, expiresAt: 99)
        let k1 = APIKeyInfo(keyID: "igk_000000000001", accountID: "acc-a", createdAt: 10)
        let kt = APIKeyInfo(keyID: "igk_00000000000t", accountID: "acc-t", createdAt: 5)
        try store.insertAPIKey(k2, secretHash: String(repeating: "2", count: 64))
        try store.insertAPIKey(k1, secretHash: String(repeating: "1", count: 64))
        try store.insertAPIKey(kt, secretHash: String(repeating: "3", count: 64))
        #expect(throws: GateError.self) { try store.insertAPIKey(k1, secretHash: "") }
        #expect(throws: GateError.self) {  // the account must exist
            try store.insertAPIKey(APIKeyInfo(keyID: "igk_x", accountID: "acc-none", createdAt: 1), secretHash: "")
        }
        #expect(try store.apiKey(k1.keyID)?.info == k1)
        #expect(try store.apiKey(k1.keyID)?.secretHash == String(repeating: "1", count: 64))
        #expect(try store.apiKey("igk_none") == nil)
        #expect(try store.apiKeys(accountID: nil, tenant: nil).map(\.keyID) == [kt.keyID, k1.keyID, k2.keyID])
        #expect(try store.apiKeys(accountID: "acc-a", tenant: nil).map(\.keyID) == [k1.keyID, k2.keyID])
        #expect(try store.apiKeys(accountID: nil, tenant: tenantID(1)) == [kt])
        #expect(try store.apiKeys(accountID: "acc-a", tenant: tenantID(1)).isEmpty)

        try store.markAPIKeyUsed(k1.keyID, at: 50)
        #expect(try store.apiKey(k1.keyID)?.info.lastUsedAt == 50)
        #expect(try store.revokeAPIKey(k2.keyID, at: 60))
        #expect(try !store.revokeAPIKey(k2.keyID, at: 61))
        #expect(try store.apiKey(k2.keyID)?.info.revokedAt == 60)
        let missing = #expect(throws: GateError.self) { try store.revokeAPIKey("igk_none", at: 1) }
        #expect(missing?.code == .notFound)

        let next = APIKeyInfo(keyID: "igk_000000000003", accountID: "acc-a", createdAt: 70)
        try store.replaceAPIKey(revoking: k1.keyID, at: 70, with: next, secretHash: String(repeating: "4", count: 64))
        #expect(try store.apiKey(k1.keyID)?.info.revokedAt == 70)
        #expect(try store.apiKey(next.keyID)?.info == next)
        // Rotating a revoked key is a conflict and inserts nothing.
        let again = APIKeyInfo(keyID: "igk_000000000004", accountID: "acc-a", createdAt: 80)
        let conflict = #expect(throws: GateError.self) {
            try store.replaceAPIKey(revoking: k1.keyID, at: 80, with: again, secretHash: "")
        }
        #expect(conflict?.code == .conflict)
        #expect(try store.apiKey(again.keyID) == nil)
        let gone = #expect(throws: GateError.self) {
            try store.replaceAPIKey(revoking: "igk_none", at: 80, with: again, secretHash: "")
        }
        #expect(gone?.code == .notFound)
        // A new key that collides rolls the revocation back.
        #expect(throws: GateError.self) {
            try store.replaceAPIKey(revoking: next.keyID, at: 90, with: kt, secretHash: "")
        }
        #expect(try store.apiKey(next.keyID)?.info.revokedAt == nil)
    }

    @Test(arguments: StoreKind.available) func tokenIssuesAreRecordedOnce(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let issue = TokenIssue(
            serial: ID128(high: 5, low: 6), image: ImageRecord.newID(), tenant: .defaultTenant, issuedAt: 10,
            expiresAt: 20, protocols: 0b111, minter: "cli 'admin'", fileName: "ubuntu.qcow2")
        var legacy = issue
        legacy.serial = ID128(high: 5, low: 7)
        legacy.fileName = nil
        try store.recordTokenIssue(issue)
        try store.recordTokenIssue(legacy)
        let duplicate = #expect(throws: GateError.self) { try store.recordTokenIssue(issue) }
        #expect(duplicate?.code == .alreadyExists)
        #expect(try store.tokenIssue(serial: issue.serial) == issue)
        #expect(try store.tokenIssue(serial: legacy.serial) == legacy)
        #expect(try store.tokenIssue(serial: ID128(high: 0, low: 1)) == nil)
        try store.insert(sampleRecord())
        let counts = try store.imageAndLinkCounts()
        #expect(counts.images == 1 && counts.links == 2)
    }

    @Test(arguments: StoreKind.available) func revocationKeepsTheLaterExpiryAndPrunes(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let clock = ManualClock(1_000_000)
        let store = try catalog.open(clock: clock)
        let serial = ID128(high: 0xDEAD, low: 0xBEEF)
        #expect(try !store.isRevoked(serial: serial))
        try store.revoke(serial: serial, expiresAt: 1_000_100)
        try store.revoke(serial: serial, expiresAt: 1_000_050)  // idempotent, keeps the later expiry
        #expect(try store.isRevoked(serial: serial))
        #expect(try !store.isRevoked(serial: ID128(high: 0xDEAD, low: 0)))
        // Within the skew after expiry the entry stays (a verifier with a slow clock still needs it) ...
        clock.set(1_000_100 + 300)
        try store.revoke(serial: ID128(high: 1, low: 1), expiresAt: 1_000_500)
        #expect(try store.isRevoked(serial: serial))
        // ... beyond it, revoking something else prunes it.
        clock.set(1_000_100 + 301)
        try store.revoke(serial: ID128(high: 1, low: 2), expiresAt: 1_100_100)
        #expect(try !store.isRevoked(serial: serial))
        #expect(try store.isRevoked(serial: ID128(high: 1, low: 1)))
        // A serial revoked again after its own expiry is kept (not pruned by its own call).
        clock.set(5_000_000)
        try store.revoke(serial: ID128(high: 1, low: 1), expiresAt: 1_000_500)
        #expect(try store.isRevoked(serial: ID128(high: 1, low: 1)))
        #expect(try !store.isRevoked(serial: ID128(high: 1, low: 2)))
    }
}
