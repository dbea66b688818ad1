//===----------------------------------------------------------------------===//
// ImageGate: web console sessions: an API key exchanged for a cookie, kept in memory, with CSRF tokens.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import HTTPServer
import ImageCatalog
import ImageManagement
import Synchronization
import SystemIO

/// The console's settings (`console.*`, Settings+Console.swift).
struct ConsoleSettings: Sendable {
    /// Where "create VM from image" goes: `{image_id}`, `{image_name}` and `{tenant}` are replaced
    /// (URL-encoded). Empty: the button explains that it is not configured.
    var vmCreateURL = ""
    /// A session ends after this many seconds without a request.
    var sessionTimeout: Int64 = 30 * 60
    /// …and this long after sign-in, whatever happens.
    var sessionLifetime: Int64 = 12 * 3600
}

/// Signed-in console sessions. The cookie carries 32 random bytes (base64url); the table is keyed by their
/// SHA-256, so a memory dump does not hand out live cookies. Each request re-checks the API key and the
/// account behind the session, so revoking the key or disabling the account ends the session at once.
/// Sessions live in memory only: a restart signs everyone out.
final class ConsoleSessions: Sendable {
    static let cookieName = "ig_session"

    struct Session: Sendable {
        let keyID: String
        let accountID: String
        let csrfToken: String
        let createdAt: Int64
        var lastSeen: Int64
    }

    let settings: ConsoleSettings
    let service: ImageService
    let retention: Int64
    /// The lifetime of a link minted without a ttl (`tokens.default_ttl`): the download page states it.
    let linkTTL: Int64
    private let clock: any WallClock
    private let table = Mutex<[String: Session]>([:])

    init(settings: ConsoleSettings, service: ImageService, retention: Int64, linkTTL: Int64, clock: any WallClock) {
        self.settings = settings
        self.service = service
        self.retention = retention
        self.linkTTL = linkTTL
        self.clock = clock
    }

    private static func digest(_ cookie: String) -> String { Hex.encode(Crypto.sha256(Array(cookie.utf8))) }

    /// When `s` ends: idle timeout or absolute lifetime, whichever is first.
    func expiry(_ s: Session) -> Int64 {
        min(s.lastSeen + settings.sessionTimeout, s.createdAt + settings.sessionLifetime)
    }

    /// Signs in with an API key: the new cookie value, its session and principal, or nil (bad key).
    func create(apiKey: String, source: String) -> (cookie: String, session: Session, principal: Principal)? {
        guard let principal = service.authenticate(apiKey: apiKey, source: source),
            let keyID = APIKeySecret.keyID(of: apiKey)
        else { return nil }
        let now = clock.now()
        let cookie = Base64URL.encode(Crypto.randomBytes(32))
        let s = Session(
            keyID: keyID, accountID: principal.accountID, csrfToken: Base64URL.encode(Crypto.randomBytes(32)),
            createdAt: now, lastSeen: now)
        table.withLock { t in
            t = t.filter { expiry($0.value) > now }  // sweep the expired ones while we are here
            t[Self.digest(cookie)] = s
        }
        service.audit(
            principal, action: "console.sign_in", target: principal.accountID, targetTenant: principal.tenant,
            source: source, outcome: "ok", detail: ["key_id": keyID])
        return (cookie, s, principal)
    }

    /// The live session a cookie names (refreshing its idle timer), with its principal re-read from the
    /// catalog; nil when unknown, expired, or the key or account no longer works.
    func resolve(_ cookie: String) -> (session: Session, principal: Principal)? {
        let now = clock.now()
        let key = Self.digest(cookie)
        let found: Session? = table.withLock { t in
            guard var s = t[key] else { return nil }
            guard expiry(s) > now else {
                t[key] = nil
                return nil
            }
            s.lastSeen = now
            t[key] = s
            return s
        }
        guard let s = found else { return nil }
        guard let k = (try? service.store.apiKey(s.keyID)) ?? nil, k.info.revokedAt == nil,
            k.info.expiresAt.map({ $0 > now }) ?? true,
            let account = (try? service.store.account(s.accountID)) ?? nil, !account.disabled
        else {
            remove(cookie)
            return nil
        }
        return (s, Principal(account: account))
    }

    func remove(_ cookie: String) { _ = table.withLock { $0.removeValue(forKey: Self.digest(cookie)) } }

    var count: Int { table.withLock { $0.count } }

    /// The `ig_session` value of a request's Cookie fields, if any.
    static func cookie(in head: RequestHead) -> String? {
        for field in head.headers("cookie") {
            for part in field.split(separator: ";") {
                let kv = part.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0].trimmingWhitespace() == cookieName {
                    let v = String(kv[1].trimmingWhitespace())
                    return v.isEmpty ? nil : v
                }
            }
        }
        return nil
    }
}

/// Who a request is, for the API and tus: an `Authorization: Bearer` API key, or else the console cookie.
/// With the cookie, every method other than GET, HEAD and OPTIONS must carry the session's CSRF token in
/// `X-CSRF-Token` (the cookie is SameSite=Strict as well; two locks).
enum ConsoleAuth {
    enum Outcome {
        case principal(Principal)
        case absent
        case refused(String)
    }

    static func authenticate(_ head: RequestHead, peer: PeerAddress, service: ImageService,
                             sessions: ConsoleSessions?) -> Outcome {
        if let v = head.header("authorization") {
            guard v.hasPrefix("Bearer "), let p = service.authenticate(apiKey: String(v.dropFirst(7)), source: peer.host)
            else { return .absent }
            return .principal(p)
        }
        guard let sessions, let cookie = ConsoleSessions.cookie(in: head), let (s, p) = sessions.resolve(cookie)
        else { return .absent }
        if ["GET", "HEAD", "OPTIONS"].contains(head.method) { return .principal(p) }
        guard let sent = head.header("x-csrf-token"),
            Crypto.constantTimeEqual(Array(sent.utf8), Array(s.csrfToken.utf8))
        else { return .refused("the X-CSRF-Token header is missing or wrong for this session") }
        return .principal(p)
    }

    /// The Bearer-or-cookie principal, with a refusal folded into nil (callers that answer 401 either way).
    static func principal(_ head: RequestHead, peer: PeerAddress, service: ImageService,
                          sessions: ConsoleSessions?) -> Principal? {
        if case .principal(let p) = authenticate(head, peer: peer, service: service, sessions: sessions) { return p }
        return nil
    }
}
