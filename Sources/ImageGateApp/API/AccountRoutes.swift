//===----------------------------------------------------------------------===//
// ImageGate: /api/v1/tenants, /accounts and /api-keys.
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import ImageManagement

struct AccountRoutes {
    /// The longest `expires_in` an API key may have: 3650 days.
    static let maxAPIKeyLifetime: Int64 = 3650 * 86400

    let api: ManagementAPI
    var service: ImageService { api.service }

    func route(_ c: APICall) throws(GateError) -> Response {
        let s = c.segments
        switch (s[0], c.method, s.count) {
        case ("tenants", "GET", 1):
            return APIReply.json(200, ["items": try service.tenants(c.principal).map(APIJSON.tenant)])
        case ("tenants", "POST", 1):
            let body = try JSONBody(c.request.body, allowed: ["name"])
            let (tenant, owner) = try service.createTenant(
                c.principal, name: try body.requiredString("name"), source: c.source)
            return APIReply.json(201, ["tenant": APIJSON.tenant(tenant), "owner": APIJSON.account(owner)])
        case ("accounts", "GET", 1):
            return APIReply.json(
                200,
                ["items": try service.accounts(c.principal, tenant: try tenant(c.query["tenant"])).map(APIJSON.account)]
            )
        case ("accounts", "POST", 1):
            let body = try JSONBody(c.request.body, allowed: ["name", "permission", "tenant"])
            guard let permission = Permission(rawValue: try body.requiredString("permission")) else {
                throw GateError.invalid("permission must be view or manage")
            }
            let account = try service.createAccount(
                c.principal, tenant: try tenant(try body.string("tenant")), name: try body.requiredString("name"),
                permission: permission, source: c.source)
            return APIReply.json(201, APIJSON.account(account))
        case ("accounts", "PATCH", 2):
            let body = try JSONBody(c.request.body, allowed: ["disabled"])
            guard let disabled = try body.bool("disabled") else {
                throw GateError.invalid("field disabled is required")
            }
            let account = try service.setAccountDisabled(
                c.principal, accountID: s[1], disabled: disabled, source: c.source)
            return APIReply.json(200, APIJSON.account(account))
        case ("api-keys", "GET", 1):
            return APIReply.json(
                200, ["items": try service.apiKeys(c.principal, accountID: c.query["account_id"]).map(APIJSON.apiKey)])
        case ("api-keys", "POST", 1):
            let body = try JSONBody(c.request.body, allowed: ["account_id", "expires_in"])
            var expiresAt: Int64?
            if let e = try body.string("expires_in") {
                guard let d = DurationText.parse(e), d > 0 else {
                    throw GateError.invalid("expires_in must be a duration")
                }
                // A key's expiry is a date people read (RFC 3339, four-digit years): ten years at most.
                guard d <= Self.maxAPIKeyLifetime else {
                    throw GateError.invalid("expires_in must be at most \(DurationText.format(Self.maxAPIKeyLifetime))")
                }
                expiresAt = SystemClock().now() + d
            }
            let (info, secret) = try service.createAPIKey(
                c.principal, accountID: try body.string("account_id") ?? c.principal.accountID, expiresAt: expiresAt,
                source: c.source)
            var o = APIJSON.apiKey(info)
            o["secret"] = secret  // shown once; only its hash is stored
            return APIReply.json(201, o)
        case ("api-keys", "DELETE", 2):
            try service.revokeAPIKey(c.principal, keyID: s[1], source: c.source)
            return APIReply.json(200, ["key_id": s[1], "revoked": true])
        case ("api-keys", "POST", 3) where s[2] == "rotate":
            let (info, secret) = try service.rotateAPIKey(c.principal, keyID: s[1], source: c.source)
            var o = APIJSON.apiKey(info)
            o["secret"] = secret
            return APIReply.json(201, o)
        default:
            if let allowed = Self.allowedMethods(s) { throw ManagementAPI.methodNotAllowed(allowed) }
            throw GateError.notFound("no such API route")
        }
    }

    /// The methods a known path takes (for 405), nil for a path that is not a route.
    static func allowedMethods(_ s: [String]) -> String? {
        switch (s[0], s.count) {
        case ("tenants", 1), ("accounts", 1), ("api-keys", 1): "GET, POST"
        case ("accounts", 2): "PATCH"
        case ("api-keys", 2): "DELETE"
        case ("api-keys", 3) where s[2] == "rotate": "POST"
        default: nil
        }
    }

    private func tenant(_ text: String?) throws(GateError) -> TenantID? {
        guard let text else { return nil }
        guard let t = TenantID(text) else { throw GateError.invalid("tenant must be a tenant id (ten-…)") }
        return t
    }
}
