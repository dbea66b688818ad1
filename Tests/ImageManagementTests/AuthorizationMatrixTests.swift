//===----------------------------------------------------------------------===//
// ImageGate: the authorization matrix: every role × every operation × own and foreign tenant.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import ImageManagement
import SQLiteCatalog
import Testing

@Suite struct AuthorizationMatrixTests {
    enum Who: String, CaseIterable { case admin, ownerA, ownerB, viewA, manageA }
    enum Op: String, CaseIterable {
        case list, show, update, delete, restore, destroy, attachVM, mint, revoke, createAccount, createKey, auditRead
    }
    enum Outcome: Equatable { case ok, hidden, notFound, denied }
    enum Side: String, CaseIterable { case imageOfA, imageOfB }

    static func expected(_ who: Who, _ op: Op, _ side: Side) -> Outcome {
        if who == .admin { return .ok }
        let own = (who == .ownerB) == (side == .imageOfB)
        guard own else { return op == .list ? .hidden : .notFound }
        switch who {
        case .admin, .ownerA, .ownerB: return .ok
        case .viewA: return [.list, .show, .mint].contains(op) ? .ok : .denied
        case .manageA:
            return [.list, .show, .update, .delete, .restore, .attachVM, .mint, .revoke].contains(op) ? .ok : .denied
        }
    }

    static let cells: [(Who, Op, Side)] = Who.allCases.flatMap { w in
        Op.allCases.flatMap { o in Side.allCases.map { (w, o, $0) } }
    }

    @Test(arguments: cells)
    func cell(_ who: Who, _ op: Op, _ side: Side) throws {
        let w = try World()
        let p: Principal =
            switch who {
            case .admin: w.admin
            case .ownerA: w.ownerA
            case .ownerB: w.ownerB
            case .viewA: w.viewA
            case .manageA: w.manageA
            }
        let tenant = side == .imageOfA ? w.tenantA : w.tenantB
        let ownerAccount = side == .imageOfA ? w.ownerA.accountID : w.ownerB.accountID
        let image = try w.image(tenant, status: op == .restore || op == .destroy ? .deleted : .available)
        if op == .restore || op == .destroy {
            _ = try w.store.update(image.id) { (r: inout ImageRecord) throws(GateError) in
                r.statusBeforeDelete = .available
                r.deletedAt = w.clock.now()
            }
        }
        let serial = ID128(high: 7, low: UInt64(side == .imageOfA ? 1 : 2))
        try w.store.recordTokenIssue(
            TokenIssue(
                serial: serial, image: image.id, tenant: tenant, issuedAt: 1, expiresAt: w.clock.now() + 600,
                protocols: 1, minter: "t"))
        let before = try w.store.image(image.id)
        let eventsBefore = try w.eventCount()

        var outcome: Outcome = .ok
        let failure: GateError.Code? = code { () throws(GateError) in
            switch op {
            case .list:
                let page = try w.service.listImages(p, ImageQuery())
                if !page.items.contains(where: { $0.id == image.id }) { outcome = .hidden }
            case .show: _ = try w.service.image(p, image.id)
            case .update: _ = try w.service.updateImage(p, image.id, ImagePatch(name: "renamed"), source: "t")
            case .delete: _ = try w.service.deleteImage(p, image.id, source: "t")
            case .restore: _ = try w.service.restoreImage(p, image.id, source: "t")
            case .destroy: try w.service.destroyImage(p, image.id, source: "t")
            case .attachVM: _ = try w.service.attachVM(p, image.id, vmID: "vm-1", source: "t")
            case .mint: _ = try w.service.authorizeMint(p, image.id)
            case .revoke: try w.service.revokeLink(p, serial: serial, source: "t")
            case .createAccount:
                _ = try w.service.createAccount(p, tenant: tenant, name: "new", permission: .view, source: "t")
            case .createKey: _ = try w.service.createAPIKey(p, accountID: ownerAccount, expiresAt: nil, source: "t")
            case .auditRead: _ = try w.service.auditEvents(p, tenant: tenant, afterSeq: nil, limit: 10)
            }
        }
        switch failure {
        case nil: break
        case .notFound: outcome = .notFound
        case .permissionDenied: outcome = .denied
        case let other: Issue.record("unexpected error \(String(describing: other))")
        }
        #expect(outcome == Self.expected(who, op, side), "\(who) \(op) \(side)")

        if outcome != .ok {
            // Refusals change nothing; denials on visible objects are audited, 404s are not.
            #expect(try w.store.image(image.id) == before)
            #expect(try w.store.isRevoked(serial: serial) == false)
            let added = try w.eventCount() - eventsBefore
            #expect(added == (outcome == .denied ? 1 : 0))
            if outcome == .denied {
                #expect(try w.store.auditEvents(tenant: nil, afterSeq: nil, limit: 10_000).last?.outcome == "denied")
            }
        }
    }

    @Test func notFoundMessagesDoNotRevealExistence() throws {
        let w = try World()
        let theirs = try w.image(w.tenantB)
        let foreign = #expect(throws: GateError.self) { try w.service.image(w.ownerA, theirs.id) }
        let missingID = ImageRecord.newID()
        let missing = #expect(throws: GateError.self) { try w.service.image(w.ownerA, missingID) }
        #expect(foreign?.code == .notFound && missing?.code == .notFound)
        #expect(foreign?.message == "no image \(theirs.id)" && missing?.message == "no image \(missingID)")
    }

    @Test func listIgnoresTenantFilterOfNonAdmins() throws {
        let w = try World()
        let mine = try w.image(w.tenantA)
        try w.image(w.tenantB)
        var q = ImageQuery()
        q.tenant = w.tenantB
        #expect(try w.service.listImages(w.viewA, q).items.map(\.id) == [mine.id])
        #expect(try w.service.listImages(w.admin, q).items.map(\.tenant) == [w.tenantB])
        #expect(try w.service.listImages(w.admin, ImageQuery()).total == 2)
    }

    @Test func adminCrossTenantReadIsAudited() throws {
        let w = try World()
        let img = try w.image(w.tenantA)
        _ = try w.service.image(w.admin, img.id)
        let e = try #require(try w.events("cross_tenant_access").last)
        #expect(e.target == img.id.description && e.targetTenant == w.tenantA && e.detail["operation"] == "image.show")
        _ = try w.service.updateImage(w.admin, img.id, ImagePatch(remarks: "x"), source: "t")
        #expect(try w.events("image.update").last?.detail["cross_tenant"] == "true")
        // The tenant sees what the platform admin did in it.
        #expect(
            try w.service.auditEvents(w.ownerA, tenant: nil, afterSeq: nil, limit: 1000)
                .contains { $0.action == "cross_tenant_access" })
    }
}
