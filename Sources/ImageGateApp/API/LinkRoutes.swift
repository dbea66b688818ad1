//===----------------------------------------------------------------------===//
// ImageGate: /api/v1/links: the link inventory, bulk minting and revocation by serial.
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import ImageCatalog
import ImageManagement

struct LinkRoutes {
    let api: ManagementAPI
    var service: ImageService { api.service }

    /// The mint options of a body (single mint `POST /images/{id}/links` and bulk mint).
    static let optionFields: Set<String> = ["ttl", "protocols", "allowed_ips", "max_downloads", "label"]
    /// Most images one bulk mint may name.
    static let maxBulk = 500

    func route(_ c: APICall) throws(GateError) -> Response {
        let s = c.segments
        switch (c.method, s.count) {
        case ("GET", 1):
            let now = service.clock.now()
            let items = try service.links(c.principal, try Self.query(c.query, now: now))
            return APIReply.json(
                200,
                [
                    "items": items.map { APIJSON.linkRecord($0, now: now) },
                    "offset": try c.query.int("offset", default: 0),
                    "limit": try c.query.int("limit", default: 100),
                ])
        case ("POST", 1):
            return try bulkMint(c)
        case (_, 1):
            throw ManagementAPI.methodNotAllowed("GET, POST")
        case ("GET", 2):
            let issue = try service.link(c.principal, serial: try Self.serial(s[1]))
            return APIReply.json(200, APIJSON.linkRecord(issue, now: service.clock.now()))
        case ("DELETE", 2):
            let serial = try Self.serial(s[1])
            try service.revokeLink(c.principal, serial: serial, source: c.source)
            return APIReply.json(200, ["serial": serial.hex, "revoked": true])
        case (_, 2):
            throw ManagementAPI.methodNotAllowed("GET, DELETE")
        default:
            throw GateError.notFound("no such API route")
        }
    }

    static func serial(_ text: String) throws(GateError) -> ID128 {
        guard text.utf8.count == 32, let serial = ID128(hex: text.lowercased()) else {
            throw GateError.notFound("no such link")
        }
        return serial
    }

    /// `image`, `tenant`, `minted_by`, `state`, `limit` (default 100), `offset`.
    static func query(_ q: QueryString, now: Int64) throws(GateError) -> LinkQuery {
        var out = LinkQuery(now: now)
        if let i = q["image"] {
            guard let id = ImageID(i) else { throw GateError.invalid("image must be an image id (img-…)") }
            out.image = id
        }
        if let t = q["tenant"] {
            guard let tenant = TenantID(t) else { throw GateError.invalid("tenant must be a tenant id (ten-…)") }
            out.tenant = tenant
        }
        out.minter = q["minted_by"]
        if let st = q["state"] {
            guard let state = LinkState(rawValue: st) else {
                throw GateError.invalid(
                    "state must be one of \(LinkState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            out.state = state
        }
        out.limit = try q.int("limit", default: 100)
        out.offset = try q.int("offset", default: 0)
        return out
    }

    /// `{"image_ids": [...], options…}` → `{"results": [{"image_id", "link"} | {"image_id", "error"}]}`, one
    /// result per id in the order given. The options are checked once, before anything is minted; each image
    /// then succeeds or fails on its own.
    private func bulkMint(_ c: APICall) throws(GateError) -> Response {
        let body = try JSONBody(c.request.body, allowed: Self.optionFields.union(["image_ids"]))
        guard let texts = try body.strings("image_ids"), !texts.isEmpty else {
            throw GateError.invalid("image_ids must be a non-empty array of image ids")
        }
        guard texts.count <= Self.maxBulk else { throw GateError.invalid("at most \(Self.maxBulk) image_ids per call") }
        let options = try MintOptions.from(body)
        var results: [[String: Any]] = []
        for text in texts {
            do throws(GateError) {
                guard let id = ImageID(text) else { throw GateError.notFound("no image \(text)") }
                let link = try api.minter.mint(c.principal, id, options: options, source: c.source, service: service)
                results.append(["image_id": text, "link": APIJSON.link(link)])
            } catch {
                results.append(["image_id": text, "error": ["code": error.code.rawValue, "message": error.message]])
            }
        }
        return APIReply.json(200, ["results": results])
    }
}
