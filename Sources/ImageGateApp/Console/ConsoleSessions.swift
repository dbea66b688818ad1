//===----------------------------------------------------------------------===//
// ImageGate: web console sessions: an API key exchanged for a cookie, kept in the catalog, with CSRF tokens.
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

/// Signed-in console sessions. The cookie carries 32 random bytes (base64url); the catalog keeps the session
/// under their SHA-256 (`ConsoleSessionRecord`), never the cookie, so neither a catalog dump nor a memory
/// dump hands out live cookies. Kept in the catalog, a session survives a restart and works on every node of
/// a shared catalog (no sticky sessions at the balancer). Each request re-checks the API key and the account
/// behind the session, so revoking the key or disabling the account ends the session at once.
final class ConsoleSessions: Sendable {
    static let cookieName = "ig_session"
    typealias Session = ConsoleSessionRecord

    let settings: ConsoleSettings
    let service: ImageService
    let retention: Int64
    /// The lifetime of a link minted without a ttl (`tokens.default_ttl`): the download page states it.
    let linkTTL: Int64
    /// The longest lifetime a link may be minted with (`tokens.max_ttl`): the mint dialog offers up to it.
    let linkMaxTTL: Int64
    private let clock: any WallClock
    /// Clock second of this process's last sweep of expired sessions.
    private let lastSweep = Atomic<Int64>(0)
    static let sweepInterval: Int64 = 60

    init(
        settings: ConsoleSettings, service: ImageService, retention: Int64, linkTTL: Int64, linkMaxTTL: Int64 = 0,
        clock: any WallClock
    ) {
        self.settings = settings
        self.service = service
        self.retention = retention
        self.linkTTL = linkTTL
        self.linkMaxTTL = max(linkMaxTTL, linkTTL)
        self.clock = clock
    }

    private var store: any CatalogStore { service.store }

    private static func digest(_ cookie: String) -> String { Hex.encode(Crypto.sha256(Array(cookie.utf8))) }

    /// When `s` ends: idle timeout or absolute lifetime, whichever is first.
    func expiry(_ s: Session) -> Int64 {
        min(s.lastSeen + settings.sessionTimeout, s.createdAt + settings.sessionLifetime)
    }

    /// `lastSeen` is written back only once it is this old: at most once a minute per session (a tenth of the
    /// idle timeout when that is shorter), not on every request. A session may so end up to this long before
    /// `console.session_timeout` of true inactivity.
    var touchInterval: Int64 { min(60, settings.sessionTimeout / 10) }

    /// Signs in with an API key: the new cookie value, its session and principal; nil for a bad key. Throws
    /// when the catalog cannot record the session.
    func create(apiKey: String, source: String) throws(GateError)
        -> (cookie: String, session: Session, principal: Principal)?
    {
        guard let principal = service.authenticate(apiKey: apiKey, source: source),
            let keyID = APIKeySecret.keyID(of: apiKey)
        else { return nil }
        let now = clock.now()
        sweepIfDue(now)
        let cookie = Base64URL.encode(Crypto.randomBytes(32))
        let s = Session(
            digest: Self.digest(cookie), keyID: keyID, accountID: principal.accountID,
            csrfToken: Base64URL.encode(Crypto.randomBytes(32)), createdAt: now, lastSeen: now)
        try store.insertConsoleSession(s)
        service.audit(
            principal, action: "console.sign_in", target: principal.accountID, targetTenant: principal.tenant,
            source: source, outcome: "ok", detail: ["key_id": keyID])
        return (cookie, s, principal)
    }

    /// The live session a cookie names (refreshing its idle timer), with its principal re-read from the
    /// catalog; nil when unknown, expired, the key or account no longer works, or the catalog cannot answer.
    func resolve(_ cookie: String) -> (session: Session, principal: Principal)? {
        let now = clock.now()
        sweepIfDue(now)
        let key = Self.digest(cookie)
        guard var s = try? store.consoleSession(digest: key) else { return nil }
        guard expiry(s) > now else {
            try? store.removeConsoleSession(digest: key)
            return nil
        }
        if now > s.lastSeen, now - s.lastSeen >= touchInterval {
            s.lastSeen = now
            _ = try? store.touchConsoleSession(digest: key, lastSeen: now)  // a missed write costs idle time only
        }
        guard let k = (try? service.store.apiKey(s.keyID)) ?? nil, k.info.revokedAt == nil,
            k.info.expiresAt.map({ $0 > now }) ?? true,
            let account = (try? service.store.account(s.accountID)) ?? nil, !account.disabled
        else {
            try? store.removeConsoleSession(digest: key)
            return nil
        }
        return (s, Principal(account: account))
    }

    /// Signs out: the session ends on every node at once (the next lookup finds nothing).
    func remove(_ cookie: String) throws(GateError) { try store.removeConsoleSession(digest: Self.digest(cookie)) }

    /// Removes expired sessions, at most once a minute per process (sign-ins and lookups call it), so
    /// abandoned sessions do not pile up in the catalog. Lookups refuse an expired session either way.
    private func sweepIfDue(_ now: Int64) {
        let last = lastSweep.load(ordering: .relaxed)
        guard now >= last + Self.sweepInterval || now < last,
            lastSweep.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        else { return }
        _ = try? store.removeConsoleSessions(
            idleBefore: now - settings.sessionTimeout, createdBefore: now - settings.sessionLifetime, keyID: nil)
    }

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

    static func authenticate(
        _ head: RequestHead, peer: PeerAddress, service: ImageService,
        sessions: ConsoleSessions?
    ) -> Outcome {
        if let v = head.header("authorization") {
            guard v.hasPrefix("Bearer "),
                let p = service.authenticate(apiKey: String(v.dropFirst(7)), source: peer.host)
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
    static func principal(
        _ head: RequestHead, peer: PeerAddress, service: ImageService,
        sessions: ConsoleSessions?
    ) -> Principal? {
        if case .principal(let p) = authenticate(head, peer: peer, service: service, sessions: sessions) { return p }
        return nil
    }
}
