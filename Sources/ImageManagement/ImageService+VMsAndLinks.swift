//===----------------------------------------------------------------------===//
// ImageGate: ImageService: VM references and download links (mint authorization, record, revoke).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension ImageService {
    // MARK: VM references

    /// Records that VM `vmID` was created from the image (which must be `available`). A duplicate is `.conflict`.
    public func attachVM(_ p: Principal, _ id: ImageID, vmID: String, source: String) throws(GateError)
        -> VMReference
    {
        let image = try visibleImage(p, id)
        try require(
            p, .manageImages, action: "vm.attach", target: id.description, targetTenant: image.tenant,
            source: source)
        let vmID = try TextRules.vmID(vmID)
        let ref = VMReference(vmID: vmID, imageID: id, createdAt: clock.now())
        do {
            try store.addVMReference(ref) { (r: ImageRecord) throws(GateError) in
                _ = try ImageLifecycle.next(r.status, .attachVM)
            }
        } catch  where error.code == .alreadyExists {
            throw .conflict("VM \(vmID) is already recorded for image \(id)")
        }
        record(
            p, "vm.attach", target: id.description, targetTenant: image.tenant, source: source,
            detail: ["vm": vmID])
        return ref
    }

    /// Forgets a VM reference (the VM was deleted). Legal in every status.
    public func detachVM(_ p: Principal, _ id: ImageID, vmID: String, source: String) throws(GateError) {
        let image = try visibleImage(p, id)
        try require(
            p, .manageImages, action: "vm.detach", target: id.description, targetTenant: image.tenant,
            source: source)
        let vmID = try TextRules.vmID(vmID)
        guard try store.removeVMReference(image: id, vmID: vmID) else {
            throw .notFound("image \(id) has no VM \(vmID)")
        }
        record(
            p, "vm.detach", target: id.description, targetTenant: image.tenant, source: source,
            detail: ["vm": vmID])
    }

    public func vmReferences(_ p: Principal, _ id: ImageID) throws(GateError) -> [VMReference] {
        let image = try visibleImage(p, id)
        recordCrossTenantRead(p, "vm.list", target: id.description, targetTenant: image.tenant)
        return try store.vmReferences(image: id)
    }

    // MARK: Download links

    /// Checks that the caller may mint a link for the image: visible, role allows minting (view-only
    /// sub-accounts may), and the image is `available` (else `.conflict("image is <status>")`).
    /// Returns the record whose id, tenant and generation go into the token.
    public func authorizeMint(_ p: Principal, _ id: ImageID) throws(GateError) -> ImageRecord {
        let image = try visibleImage(p, id)
        try require(
            p, .mintLinks, action: "link.mint", target: id.description, targetTenant: image.tenant,
            source: "api")
        do {
            _ = try ImageLifecycle.next(image.status, .download)
        } catch {
            throw .conflict("image is \(image.status.rawValue)")
        }
        return image
    }

    /// Stores a minted token's record and audits "link.mint" (serial, image, expiry, protocols; never the token).
    public func recordMint(_ p: Principal, _ issue: TokenIssue, source: String) throws(GateError) {
        guard p.sees(issue.tenant) else { throw .notFound("no image \(issue.image)") }
        try require(
            p, .mintLinks, action: "link.mint", target: issue.image.description, targetTenant: issue.tenant,
            source: source)
        try store.recordTokenIssue(issue)
        record(
            p, "link.mint", target: issue.image.description, targetTenant: issue.tenant, source: source,
            detail: [
                "serial": issue.serial.hex, "expires_at": String(issue.expiresAt),
                "protocols": String(issue.protocols), "minter": issue.minter,
            ])
        webhookEvents.linkMinted(issue, by: p.accountID)
    }

    /// Puts a minted link's serial on the deny-list. The serial must belong to a link of a tenant the
    /// caller sees (else `.notFound`); view-only sub-accounts may revoke only the links they minted themselves.
    public func revokeLink(_ p: Principal, serial: ID128, source: String) throws(GateError) {
        guard let issue = try store.tokenIssue(serial: serial), p.sees(issue.tenant) else {
            throw .notFound("no link \(serial.hex)")
        }
        if issue.minter != p.accountID {
            try require(
                p, .manageLinks, action: "link.revoke", target: serial.hex, targetTenant: issue.tenant,
                source: source)
        }
        try store.revoke(serial: serial, expiresAt: issue.expiresAt)
        record(
            p, "link.revoke", target: serial.hex, targetTenant: issue.tenant, source: source,
            detail: ["image": issue.image.description])
        webhookEvents.linkRevoked(issue, by: p.accountID)
    }
}
