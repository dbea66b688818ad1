//===----------------------------------------------------------------------===//
// ImageGate: /api/v1/session: console sign-in (API key → cookie), the session's state, sign-out.
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import ImageManagement
import SystemIO

/// `POST` exchanges `{"api_key": "igk_…"}` for the `ig_session` cookie and a CSRF token; `GET` answers the
/// same for a live cookie (the page reloads); `DELETE` signs out. Answers carry `Cache-Control: no-store`.
struct SessionRoutes {
    let sessions: ConsoleSessions

    func respond(to request: Request) -> Response {
        switch request.head.method {
        case "POST": return signIn(request)
        case "GET":
            guard let cookie = ConsoleSessions.cookie(in: request.head), let (s, p) = sessions.resolve(cookie) else {
                return Self.unauthorized("not signed in, or the session has expired")
            }
            return APIReply.json(200, describe(s, p))
        case "DELETE": return signOut(request)
        default: return APIError.response(ManagementAPI.methodNotAllowed("GET, POST, DELETE"))
        }
    }

    static func unauthorized(_ message: String) -> Response {
        APIReply.json(401, ["error": ["code": "unauthorized", "message": message]])
    }

    private func signIn(_ request: Request) -> Response {
        let head = request.head
        // A sign-in from another site's page (login CSRF) cannot send JSON without a CORS preflight we never
        // grant; a browser's Origin, when sent, must be this host.
        guard (head.header("content-type") ?? "").lowercased().hasPrefix("application/json") else {
            return APIError.response(GateError.invalid("Content-Type must be application/json"))
        }
        if let origin = head.header("origin"), let host = head.header("host"),
            origin != "http://" + host, origin != "https://" + host
        {
            return APIError.response(GateError(.permissionDenied, "sign-in from another origin is refused"))
        }
        let key: String
        do {
            key = try JSONBody(request.body, allowed: ["api_key"]).requiredString("api_key")
        } catch {
            return APIError.response(error)
        }
        let created: (cookie: String, session: ConsoleSessions.Session, principal: Principal)?
        do {
            created = try sessions.create(apiKey: key, source: request.peer.host)
        } catch {
            return APIError.response(error)
        }
        guard let (cookie, s, p) = created else { return Self.unauthorized("the API key was not accepted") }
        var r = APIReply.json(200, describe(s, p))
        var attributes = "\(ConsoleSessions.cookieName)=\(cookie); Path=/; HttpOnly; SameSite=Strict"
        if request.secure { attributes += "; Secure" }
        r.headers.append(("Set-Cookie", attributes))
        return r
    }

    private func signOut(_ request: Request) -> Response {
        var signedOut = false
        if let cookie = ConsoleSessions.cookie(in: request.head) {
            switch ConsoleAuth.authenticate(
                request.head, peer: request.peer, service: sessions.service,
                sessions: sessions)
            {
            case .refused(let why): return APIError.response(GateError(.permissionDenied, why))
            case .principal, .absent: break
            }
            do {
                try sessions.remove(cookie)
            } catch {
                return APIError.response(error)
            }
            signedOut = true
        }
        var r = APIReply.json(200, ["signed_out": signedOut])
        var attributes = "\(ConsoleSessions.cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
        if request.secure { attributes += "; Secure" }
        r.headers.append(("Set-Cookie", attributes))
        return r
    }

    private func describe(_ s: ConsoleSessions.Session, _ p: Principal) -> [String: Any] {
        [
            "csrf_token": s.csrfToken, "principal": APIJSON.principal(p),
            "expires_at": TimeFormat.rfc3339(sessions.expiry(s)),
            "idle_timeout_seconds": sessions.settings.sessionTimeout,
            "console": [
                "vm_create_url": sessions.settings.vmCreateURL, "recycle_retention_seconds": sessions.retention,
                "link_ttl_seconds": sessions.linkTTL, "link_max_ttl_seconds": sessions.linkMaxTTL,
            ] as [String: Any],
        ]
    }
}
