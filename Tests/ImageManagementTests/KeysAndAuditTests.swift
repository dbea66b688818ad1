//===----------------------------------------------------------------------===//
// ImageGate: API keys (create, authenticate, revoke, rotate, expiry, hashes only) and the audit chain.
//===----------------------------------------------------------------------===//
import CSQLite
import Foundation
import GateCore
import ImageCatalog
import ImageManagement
import SQLiteCatalog
import Testing

@Suite struct APIKeyTests {
    @Test func formatAndRoundTrip() throws {
        let w = try World()
        #expect(w.adminSecret.utf8.count == 60 && w.adminSecret.hasPrefix("igk_"))
        #expect(w.service.authenticate(apiKey: w.adminSecret, source: "t") == w.admin)
        let (info, secret) = try w.service.createAPIKey(
            w.ownerA, accountID: w.viewA.accountID, expiresAt: nil,
            source: "t")
        #expect(APIKeySecret.keyID(of: secret) == info.keyID)
        #expect(w.service.authenticate(apiKey: secret, source: "t") == w.viewA)
        #expect(try w.service.apiKeys(w.viewA, accountID: nil).map(\.keyID) == [info.keyID])
        #expect(try w.service.apiKeys(w.ownerA, accountID: nil).map(\.keyID) == [info.keyID])
        #expect(try w.service.apiKeys(w.ownerB, accountID: nil).isEmpty)
        #expect(try w.service.apiKeys(w.ownerA, accountID: w.viewA.accountID).first?.lastUsedAt == w.clock.now())
    }

    @Test func failuresAreNilAndAudited() throws {
        let w = try World()
        let (info, secret) = try w.service.createAPIKey(
            w.ownerA, accountID: w.manageA.accountID,
            expiresAt: w.clock.now() + 100, source: "t")
        var wrong = Array(secret.utf8)
        wrong[30] = wrong[30] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let forged = String(decoding: wrong, as: UTF8.self)
        let unknown = APIKeySecret.generate().secret
        for bad in ["", "Bearer x", forged, unknown, String(secret.dropLast()), secret + "A", secret.uppercased()] {
            #expect(w.service.authenticate(apiKey: bad, source: "1.2.3.4:5") == nil)
        }
        let failures = try w.events("auth.failure")
        #expect(failures.count == 7 && failures.allSatisfy { $0.outcome == "denied" && $0.source == "1.2.3.4:5" })
        #expect(failures.map { $0.detail["reason"] ?? "" }.contains("bad_secret"))
        // Expiry.
        #expect(w.service.authenticate(apiKey: secret, source: "t") == w.manageA)
        w.clock.advance(100)
        #expect(w.service.authenticate(apiKey: secret, source: "t") == nil)
        #expect(try w.events("auth.failure").last?.detail["reason"] == "expired")
        #expect(
            code { () throws(GateError) in
                try w.service.createAPIKey(
                    w.ownerA, accountID: w.manageA.accountID, expiresAt: w.clock.now(), source: "t")
            } == .invalidRequest)
        _ = info
    }

    @Test func revokeRotateAndDisable() throws {
        let w = try World()
        let (info, secret) = try w.service.createAPIKey(
            w.ownerA, accountID: w.manageA.accountID, expiresAt: nil,
            source: "t")
        // A manage sub-account rotates its own key; the old one dies at once.
        let (newInfo, newSecret) = try w.service.rotateAPIKey(w.manageA, keyID: info.keyID, source: "t")
        #expect(newInfo.accountID == w.manageA.accountID && newInfo.keyID != info.keyID)
        #expect(w.service.authenticate(apiKey: secret, source: "t") == nil)
        #expect(w.service.authenticate(apiKey: newSecret, source: "t") == w.manageA)
        #expect(
            code { () throws(GateError) in try w.service.rotateAPIKey(w.ownerA, keyID: info.keyID, source: "t") }
                == .conflict)
        // View-only sub-accounts cannot rotate, sub-accounts cannot revoke; other tenants do not see the key.
        #expect(
            code { () throws(GateError) in try w.service.rotateAPIKey(w.viewA, keyID: newInfo.keyID, source: "t") }
                == .permissionDenied)
        #expect(
            code { () throws(GateError) in try w.service.revokeAPIKey(w.manageA, keyID: newInfo.keyID, source: "t") }
                == .permissionDenied)
        #expect(
            code { () throws(GateError) in try w.service.revokeAPIKey(w.ownerB, keyID: newInfo.keyID, source: "t") }
                == .notFound)
        try w.service.revokeAPIKey(w.ownerA, keyID: newInfo.keyID, source: "t")
        #expect(w.service.authenticate(apiKey: newSecret, source: "t") == nil)
        // Disabling an account stops its keys; re-enabling restores them.
        let (_, third) = try w.service.createAPIKey(w.ownerA, accountID: w.viewA.accountID, expiresAt: nil, source: "t")
        _ = try w.service.setAccountDisabled(w.ownerA, accountID: w.viewA.accountID, disabled: true, source: "t")
        #expect(w.service.authenticate(apiKey: third, source: "t") == nil)
        _ = try w.service.setAccountDisabled(w.ownerA, accountID: w.viewA.accountID, disabled: false, source: "t")
        #expect(w.service.authenticate(apiKey: third, source: "t") == w.viewA)
        #expect(
            code { () throws(GateError) in
                try w.service.setAccountDisabled(w.ownerA, accountID: w.ownerA.accountID, disabled: true, source: "t")
            } == .permissionDenied)
    }

    @Test func databaseHoldsNoSecret() throws {
        let w = try World()
        var secrets = [w.adminSecret]
        secrets.append(
            try w.service.createAPIKey(
                w.ownerA, accountID: w.ownerA.accountID, expiresAt: nil,
                source: "t"
            ).secret)
        let info = try w.service.apiKeys(w.ownerA, accountID: w.ownerA.accountID)[0]
        secrets.append(try w.service.rotateAPIKey(w.ownerA, keyID: info.keyID, source: "t").secret)
        w.store.close()
        for path in [w.catalogPath, w.catalogPath + "-wal"] {
            let bytes = FileManager.default.contents(atPath: path) ?? Data()
            for secret in secrets {
                let randomPart = Data(secret.utf8.suffix(43))
                #expect(bytes.range(of: randomPart) == nil, "secret found in \(path)")
                #expect(bytes.range(of: Data(APIKeySecret.hash(secret).utf8)) != nil || path.hasSuffix("-wal"))
            }
        }
    }

    @Test func keysNameTheirAccountByIDOrUniqueName() throws {
        let w = try World()
        // "admin" is the first platform administrator's name on every node; its id differs per deployment.
        let byName = try w.service.createAPIKey(w.admin, accountID: "admin", expiresAt: nil, source: "t")
        #expect(byName.info.accountID == w.admin.accountID)
        #expect(try w.service.apiKeys(w.admin, accountID: "admin").contains { $0.keyID == byName.info.keyID })
        // The local operator (no account row) gets keys for that administrator.
        let local = try w.service.createAPIKey(
            .localAdmin, accountID: Principal.localAdmin.accountID, expiresAt: nil, source: "t")
        #expect(local.info.accountID == w.admin.accountID)
        #expect(
            code { () throws(GateError) in
                _ = try w.service.createAPIKey(w.admin, accountID: "nobody", expiresAt: nil, source: "t")
            } == .notFound)
        // Another tenant's owner does not find accounts by name outside its tenant.
        #expect(
            code { () throws(GateError) in
                _ = try w.service.createAPIKey(w.ownerB, accountID: "admin", expiresAt: nil, source: "t")
            } == .notFound)
    }

    @Test func bootstrapIsIdempotent() throws {
        let w = try World()
        let again = try w.service.bootstrap()
        #expect(again.admin.id == w.admin.accountID && again.newAdminKeySecret == nil)
        // Created in the same second: ordered by id after createdAt (the store contract), not by insertion.
        let expected = [TenantID.defaultTenant] + [w.tenantA, w.tenantB].sorted { $0.description < $1.description }
        #expect(try w.service.tenants(w.admin).map(\.id) == expected)
        #expect(try w.service.tenants(w.viewA).map(\.id) == [w.tenantA])
        #expect(
            code { () throws(GateError) in try w.service.createTenant(w.ownerA, name: "x", source: "t") }
                == .permissionDenied)
    }
}

@Suite struct AuditTests {
    @Test func everyWriteAppendsOneEventAndTheChainVerifies() throws {
        let w = try World()
        let img = try w.image(w.tenantA)
        var count = try w.eventCount()
        _ = try w.service.updateImage(w.ownerA, img.id, ImagePatch(name: "n"), source: "10.0.0.1:1")
        count += 1
        #expect(try w.eventCount() == count)
        _ = try w.service.updateImage(w.ownerA, img.id, ImagePatch(), source: "t")  // no-op, no event
        #expect(try w.eventCount() == count)
        let issue = TokenIssue(
            serial: ID128(high: 1, low: 1), image: img.id, tenant: w.tenantA, issuedAt: 1,
            expiresAt: w.clock.now() + 60, protocols: 3, minter: w.viewA.accountID)
        try w.service.recordMint(w.viewA, issue, source: "t")
        let mint = try #require(try w.events("link.mint").last)
        #expect(mint.detail["serial"] == issue.serial.hex && mint.actor == w.viewA.accountID)
        #expect(mint.actorTenant == w.tenantA && mint.targetTenant == w.tenantA)
        #expect(try w.service.verifyAuditChain() == nil)
        // Tenant scoping of the log.
        let seenByB = try w.service.auditEvents(w.ownerB, tenant: nil, afterSeq: nil, limit: 1000)
        #expect(!seenByB.contains { $0.targetTenant == w.tenantA || $0.actorTenant == w.tenantA })
        #expect(
            code { () throws(GateError) in try w.service.auditEvents(w.manageA, tenant: nil, afterSeq: nil, limit: 10) }
                == .permissionDenied)
        #expect(
            code { () throws(GateError) in try w.service.auditEvents(w.ownerA, tenant: nil, afterSeq: nil, limit: 0) }
                == .invalidRequest)
    }

    @Test func tamperingIsDetectedAtTheEditedRow() throws {
        let w = try World()
        let img = try w.image(w.tenantA)
        for i in 0..<5 { _ = try w.service.updateImage(w.ownerA, img.id, ImagePatch(remarks: "r\(i)"), source: "t") }
        let events = try w.store.auditEvents(tenant: nil, afterSeq: nil, limit: 1000)
        let victim = events[events.count - 3]
        // The append-only triggers refuse edits through SQL…
        #expect(throws: (any Error).self) {
            try rawSQL(w.catalogPath, "UPDATE audit_events SET actor = 'x' WHERE seq = \(victim.seq)")
        }
        #expect(try w.service.verifyAuditChain() == nil)
        // …so an attacker with the file drops them first; the chain still shows where.
        try rawSQL(
            w.catalogPath,
            """
            DROP TRIGGER audit_events_no_update;
            UPDATE audit_events SET detail = '{"fields":"name"}' WHERE seq = \(victim.seq);
            """)
        #expect(try w.service.verifyAuditChain() == victim.seq)
    }

    @Test func deletedRowBreaksTheChainAtItsSuccessor() throws {
        let w = try World()
        let img = try w.image(w.tenantA)
        for i in 0..<3 { _ = try w.service.updateImage(w.ownerA, img.id, ImagePatch(remarks: "r\(i)"), source: "t") }
        let events = try w.store.auditEvents(tenant: nil, afterSeq: nil, limit: 1000)
        let victim = events[events.count - 2]
        try rawSQL(
            w.catalogPath, "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq = \(victim.seq);")
        #expect(try w.service.verifyAuditChain() == victim.seq + 1)
    }
}

struct SQLError: Error { let message: String }

/// Runs SQL through a separate connection, as an attacker with the database file would.
func rawSQL(_ path: String, _ sql: String) throws {
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK else { throw SQLError(message: "open") }
    defer { sqlite3_close(db) }
    sqlite3_busy_timeout(db, 5000)
    var err: UnsafeMutablePointer<CChar>?
    if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
        let message = err.map { String(cString: $0) } ?? "?"
        sqlite3_free(err)
        throw SQLError(message: message)
    }
}
