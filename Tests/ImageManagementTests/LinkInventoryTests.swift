//===----------------------------------------------------------------------===//
// ImageGate: who sees which links in the inventory, and revoking every link of an image (Docs/links.md).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import ImageManagement
import SQLiteCatalog
import Testing

@Suite struct LinkInventoryTests {
    private func mint(_ w: World, _ p: Principal, _ image: ImageRecord, _ n: UInt64, expiresIn: Int64 = 3600) throws
        -> TokenIssue
    {
        let issue = TokenIssue(
            serial: ID128(high: 0x11, low: n), image: image.id, tenant: image.tenant,
            issuedAt: w.clock.now() + Int64(n),
            expiresAt: w.clock.now() + expiresIn, protocols: 3, minter: p.accountID)
        try w.service.recordMint(p, issue, source: "t")
        return issue
    }

    @Test func visibilityFollowsTenantAndRole() throws {
        let w = try World()
        let a = try w.image(w.tenantA)
        let b = try w.image(w.tenantB)
        let byView = try mint(w, w.viewA, a, 1)
        let byOwner = try mint(w, w.ownerA, a, 2)
        let ofB = try mint(w, w.ownerB, b, 3)
        func serials(_ p: Principal, _ q: LinkQuery) throws -> Set<ID128> {
            Set(try w.service.links(p, q).map(\.serial))
        }
        let all = LinkQuery(now: w.clock.now())
        #expect(try serials(w.admin, all) == [byView.serial, byOwner.serial, ofB.serial])
        #expect(try serials(w.ownerA, all) == [byView.serial, byOwner.serial])
        #expect(try serials(w.manageA, all) == [byView.serial, byOwner.serial])
        #expect(try serials(w.viewA, all) == [byView.serial])  // view-only: the links it minted
        #expect(try serials(w.ownerB, all) == [ofB.serial])
        // A tenant filter naming another tenant is as invisible as anything else of it.
        #expect(
            code { () throws(GateError) in _ = try w.service.links(w.ownerA, LinkQuery(tenant: w.tenantB, now: 0)) }
                == .notFound)
        #expect(try serials(w.admin, LinkQuery(tenant: w.tenantB, now: w.clock.now())) == [ofB.serial])
        #expect(code { () throws(GateError) in _ = try w.service.link(w.ownerB, serial: byOwner.serial) } == .notFound)
        #expect(code { () throws(GateError) in _ = try w.service.link(w.viewA, serial: byOwner.serial) } == .notFound)
        #expect(try w.service.link(w.viewA, serial: byView.serial).serial == byView.serial)
        #expect(
            code { () throws(GateError) in _ = try w.service.links(w.admin, LinkQuery(now: 0, limit: 0)) }
                == .invalidRequest)
    }

    @Test func revokingAllLinksOfAnImageLeavesOthersAndNeedsManage() throws {
        let w = try World()
        let a = try w.image(w.tenantA)
        let other = try w.image(w.tenantA)
        let live = [try mint(w, w.viewA, a, 1), try mint(w, w.ownerA, a, 2)]
        let expired = try mint(w, w.ownerA, a, 3, expiresIn: -10)
        let elsewhere = try mint(w, w.ownerA, other, 4)
        #expect(
            code { () throws(GateError) in _ = try w.service.revokeImageLinks(w.viewA, a.id, source: "t") }
                == .permissionDenied)
        #expect(
            code { () throws(GateError) in _ = try w.service.revokeImageLinks(w.ownerB, a.id, source: "t") }
                == .notFound)
        let revoked = try w.service.revokeImageLinks(w.manageA, a.id, source: "t")
        #expect(Set(revoked) == Set(live.map(\.serial)))
        for l in live { #expect(try w.store.isRevoked(serial: l.serial)) }
        #expect(try !w.store.isRevoked(serial: expired.serial) && !w.store.isRevoked(serial: elsewhere.serial))
        #expect(try w.events("link.revoke").filter { $0.outcome == "ok" }.count == 2)  // and one denied (viewA)
        #expect(try w.service.revokeImageLinks(w.manageA, a.id, source: "t").isEmpty)  // nothing left that works
    }
}
