//===----------------------------------------------------------------------===//
// ImageGate: the management API under /api/v1: authentication, then one route table.
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import ImageCatalog
import ImageManagement
import ImportPipeline
import SystemIO
import URLFetcher

/// One API call after authentication: who, what, and from where (for the audit log).
struct APICall {
    let principal: Principal
    let request: Request
    let query: QueryString
    /// Path segments after `/api/v1/`.
    let segments: [String]
    var source: String { request.peer.host }
    var method: String { request.head.method }
}

/// JSON over HTTP, authenticated with API keys (`Authorization: Bearer igk_…`) or a console session cookie. Every read and write goes
/// through `ImageService`, which scopes it to the caller's tenant; this type only translates.
struct ManagementAPI: Sendable {
    static let prefix = "/api/v1/"
    let service: ImageService
    let minter: LinkMinter
    let exporter: ImageExporter
    /// Present in the server (and the CLI's local API): creates and cancels imports.
    var imports: ImportManager? = nil
    /// Present in the server: web console sessions (the `ig_session` cookie, Console/ConsoleSessions.swift).
    var sessions: ConsoleSessions? = nil
    /// The delivery rules a new webhook address is checked against (webhooks.*, Settings+Webhooks.swift).
    var webhookPolicy: FetchPolicy = WebhookSettings().policy

    func respond(to request: Request) -> Response {
        if let refusal = RequestShape.refusal(request) { return refusal }
        if let sessions, request.head.path == "/api/v1/session" {
            return SessionRoutes(sessions: sessions).respond(to: request)
        }
        switch ConsoleAuth.authenticate(request.head, peer: request.peer, service: service, sessions: sessions) {
        case .principal(let principal): return respond(to: request, as: principal)
        case .absent: return APIError.unauthorized()
        case .refused(let why): return APIError.response(GateError(.permissionDenied, why))
        }
    }

    /// Answers a request for an already authenticated principal (the local CLI acts as `Principal.localAdmin`:
    /// whoever can read the data directory already holds every key).
    func respond(to request: Request, as principal: Principal) -> Response {
        guard let segments = PathDecoder.segments(request.head.path), segments.count >= 2,
            segments[0] == "api", segments[1] == "v1"
        else { return APIError.response(.notFound("no such API route")) }
        do {
            let call = APICall(
                principal: principal, request: request, query: try QueryString(request.head.query),
                segments: Array(segments.dropFirst(2)))
            return try route(call)
        } catch {
            return APIError.response(error)
        }
    }

    private func route(_ c: APICall) throws(GateError) -> Response {
        let s = c.segments
        switch (c.method, s.count, s.first) {
        case ("GET", 1, "me"): return APIReply.json(200, APIJSON.principal(c.principal))
        case (_, 1, "me"): throw Self.methodNotAllowed("GET")
        case (_, _, "imports"): return try ImportRoutes(api: self).create(c)
        case ("GET", 1, "os-matrix"): return ImportRoutes(api: self).matrix()
        case (_, 1, "os-matrix"): throw Self.methodNotAllowed("GET")
        case (_, _, "images"): return try ImageRoutes(api: self).route(c)
        case (_, _, "recycle-bin"): return try ImageRoutes(api: self).recycleBin(c)
        case (_, _, "links"): return try LinkRoutes(api: self).route(c)
        case (_, _, "export.xlsx"), (_, _, "export.csv"): return try exporter.route(c, service: service)
        case (_, _, "tenants"), (_, _, "accounts"), (_, _, "api-keys"): return try AccountRoutes(api: self).route(c)
        case (_, _, "audit"): return try AuditRoutes(service: service).route(c)
        case (_, _, "webhooks"): return try WebhookRoutes(api: self).route(c)
        default: throw GateError.notFound("no such API route")
        }
    }

    static func methodNotAllowed(_ allowed: String) -> GateError {
        GateError(.unsupported, APIError.notAllowedPrefix + allowed + ")")
    }

    static func imageID(_ text: String) throws(GateError) -> ImageID {
        // An id that cannot exist is simply not found: the same answer as another tenant's image.
        guard let id = ImageID(text) else { throw GateError.notFound("no image \(JSONText.quote(text))") }
        return id
    }
}
