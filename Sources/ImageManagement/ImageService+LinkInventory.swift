//===----------------------------------------------------------------------===//
// ImageGate: ImageService: the link inventory (list, show) and revoking every link of an image.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension ImageService {
    /// Largest page of the link inventory.
    public static let maxLinkPage = 1000

    /// Links the caller may see, filtered: platform admins every tenant's (or `query.tenant`'s); tenant
    /// owners and sub-accounts with the manage permission their tenant's; view-only sub-accounts the links
    /// they minted themselves. A tenant filter naming another tenant is `.notFound`, like any invisible object.
    public func links(_ p: Principal, _ query: LinkQuery) throws(GateError) -> [TokenIssue] {
        guard (1...Self.maxLinkPage).contains(query.limit) else {
            throw .invalid("limit must be between 1 and \(Self.maxLinkPage)")
        }
        guard query.offset >= 0 else { throw .invalid("offset must not be negative") }
        var q = query
        if let own = try scope(p) {
            if let tenant = q.tenant, tenant != own { throw .notFound("no tenant \(tenant)") }
            q.tenant = own
            if !p.may(.manageLinks) { q.minter = p.accountID }
        }
        return try store.links(q)
    }

    /// One link by serial, if the caller may see it (the rule of `links`); otherwise `.notFound`.
    public func link(_ p: Principal, serial: ID128) throws(GateError) -> TokenIssue {
        guard let issue = try store.tokenIssue(serial: serial), p.sees(issue.tenant),
            p.may(.manageLinks) || issue.minter == p.accountID
        else { throw .notFound("no link \(serial.hex)") }
        return issue
    }

    /// Revokes every link of the image that still works (active or exhausted; revoked and expired ones are
    /// left as they are) and returns their serials. Needs the manage-links permission; one `link.revoke`
    /// audit event and one `link.revoked` webhook event per link, as for a single revocation.
    public func revokeImageLinks(_ p: Principal, _ id: ImageID, source: String) throws(GateError) -> [ID128] {
        let image = try visibleImage(p, id)
        try require(
            p, .manageLinks, action: "link.revoke", target: id.description, targetTenant: image.tenant,
            source: source)
        let now = clock.now()
        var live: [TokenIssue] = []
        for state in [LinkState.active, .exhausted] {
            // Revoking changes the state, so each page is read from offset 0 after the one before was revoked.
            while true {
                let page = try store.links(
                    LinkQuery(image: id, tenant: image.tenant, state: state, now: now, limit: Self.maxLinkPage))
                for issue in page {
                    try store.revoke(serial: issue.serial, expiresAt: issue.expiresAt)
                    record(
                        p, "link.revoke", target: issue.serial.hex, targetTenant: issue.tenant, source: source,
                        detail: ["image": issue.image.description])
                    webhookEvents.linkRevoked(issue, by: p.accountID)
                }
                live += page
                if page.count < Self.maxLinkPage { break }
            }
        }
        return live.map(\.serial)
    }
}
