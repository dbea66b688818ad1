//===----------------------------------------------------------------------===//
// ImageGate: from a presented token to the image it may download, for every protocol front.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import DownloadTokens
import GateCore
import ImageCatalog
import SystemIO

/// A download the token allows: the claims and the catalog records they were checked against.
final class AuthorizedDownload: Sendable {
    let claims: TokenClaims
    let image: ImageRecord
    /// The link's record (nil only for a token the catalog has no record of); its CIDRs parsed once.
    let link: TokenIssue?
    let allowedIPs: [IPPrefix]
    /// The typed grant every front carries (HTTP's `Response.session`, FTP's and SFTP's `ServedFile`), made
    /// once per verification instead of once per range request.
    let grant: DownloadGrant

    init(claims: TokenClaims, image: ImageRecord, link: TokenIssue?, logID: String, now: Int64) {
        self.claims = claims
        self.image = image
        self.link = link
        allowedIPs = (link?.options.allowedIPs ?? []).compactMap(IPPrefix.init(cidr:))
        grant = DownloadGrant(
            image: image.id, generation: image.generation, tenant: image.tenant, serial: claims.serial,
            keyID: claims.kid, expiresAt: claims.expiresAt, protocols: claims.protocols.rawValue,
            fileName: image.fileName, logID: logID, confirmedAt: now)
    }
}

/// Verification steps 1-9 of Docs/protocols.md §3.3. Every failure is the same to the client; the
/// precise reason comes back only for the log (never the token itself).
struct DownloadAuthorizer: Sendable {
    let codec: TokenCodec
    let keys: TokenKeyStore
    let store: any CatalogStore
    let clock: any WallClock
    let maxLifetime: Int64
    let cache = AuthorizationCache()
    /// Told when a usage report made a link's first use or used it up (for webhooks: WebhookEvents'
    /// linkFirstUse and linkExhausted). nil: nobody listens.
    var linkEvents: (@Sendable (LinkUseEvent) -> Void)? = nil
    /// Audits refusals of authentic links (`download.refused`); nil in tests that do not look at them.
    var refusals: RefusedDownloadAudit? = nil

    enum Denial: Error, Sendable, Equatable {
        case token(TokenRejection)
        case imageGone
        case wrongTenant
        case notAvailable
        case staleGeneration
        case revoked
        /// The link's max_downloads allowance is used up (Docs/links.md).
        case exhausted
        case catalog

        var logReason: String {
            switch self {
            case .token(let r): Self.tokenReason(r)
            case .imageGone: "image_not_found"
            case .wrongTenant: "tenant_mismatch"
            case .notAvailable: "image_not_available"
            case .staleGeneration: "stale_generation"
            case .revoked: "token_revoked"
            case .exhausted: "link_exhausted"
            case .catalog: "catalog_error"
            }
        }

        /// `token_<rejection>` made once per rejection (every 404 of a bad-token flood carries one as its note).
        static let tokenReasons = TokenRejection.allCases.map { ($0, "token_\($0)") }
        static func tokenReason(_ r: TokenRejection) -> String {
            for (rejection, reason) in tokenReasons where rejection == r { return reason }
            return "token_\(r)"
        }

        /// Why an authentic link is refused, when this denial is one the recipient is told about (HTTP 410/403,
        /// FTP 530, SFTP banner with `LinkRefusal.sentence`). Each of these comes only after the MAC verified
        /// (TokenCodec steps 5 and 9 follow step 3; revocation and the allowance are checked on verified claims);
        /// every other denial stays the uniform 404 / generic refusal.
        var linkRefusal: LinkRefusal? {
            switch self {
            case .token(.expired): .expired
            case .token(.addressNotAllowed): .addressNotAllowed
            case .revoked: .revoked
            case .exhausted: .exhausted
            default: nil
            }
        }
    }

    /// Counts the verdict (`imagegate_token_rejections_total` by the access log's reason) around `decide`.
    func authorize(token: Substring, protocol proto: ProtocolSet, peer: [UInt8]?) -> Result<AuthorizedDownload, Denial>
    {
        var authentic: TokenClaims?
        let result = decide(token: token, protocol: proto, peer: peer, authentic: &authentic)
        if case .failure(let denial) = result {
            if Metrics.isEnabled { Metrics.add(Self.rejectionCounter(denial)) }
            if let refusal = denial.linkRefusal {
                audit(refusal, claims: authentic, token: token, protocol: proto, peer: peer)
            }
        }
        return result
    }

    /// The `download.refused` record (rate-limited by `RefusedDownloadAudit`), with the claims the verdict
    /// verified (`authentic`). Only when it has none are they read again from the token, MAC checked.
    private func audit(
        _ refusal: LinkRefusal, claims authentic: TokenClaims?, token: Substring, protocol proto: ProtocolSet,
        peer: [UInt8]?
    ) {
        guard let refusals else { return }
        let now = clock.now()
        guard let claims = authentic ?? codec.authenticClaims(token, keyring: keys.keyring(), now: now) else {
            return
        }
        refusals.record(
            refusal, claims: claims, protocolName: Self.protocolName(proto) ?? proto.description,
            client: RefusedDownloadAudit.addressText(peer), now: now)
    }

    static let cacheHits = Metrics.counter(MetricSeries("imagegate_authorization_cache_hits_total"))
    static let cacheMisses = Metrics.counter(MetricSeries("imagegate_authorization_cache_misses_total"))

    /// Every denial with its `imagegate_token_rejections_total{reason}` counter, registered once: a bad-token
    /// flood counts by comparing enum values, without making the reason text per request.
    static let rejectionCounters: [(Denial, MetricCounter)] = {
        let all =
            TokenRejection.allCases.map(Denial.token)
            + [.imageGone, .wrongTenant, .notAvailable, .staleGeneration, .revoked, .exhausted, .catalog]
        return all.map { ($0, Metrics.counter(rejectionSeries($0.logReason))) }
    }()
    static func rejectionSeries(_ reason: String) -> MetricSeries {
        MetricSeries("imagegate_token_rejections_total", [("reason", reason)])
    }
    static func rejectionCounter(_ denial: Denial) -> MetricCounter {
        for (d, counter) in rejectionCounters where d == denial { return counter }
        return Metrics.counter(rejectionSeries(denial.logReason))  // a case missing from the list above
    }

    /// `authentic`: the claims of a token whose MAC verified, whatever the verdict (for the refusal audit).
    private func decide(token: Substring, protocol proto: ProtocolSet, peer: [UInt8]?, authentic: inout TokenClaims?)
        -> Result<AuthorizedDownload, Denial>
    {
        // Every valid token has exactly this length and prefix (TokenCodec step 1): anything else is refused
        // before the cache, the keyring or any copy of it (a bad-token flood costs less than a download).
        guard token.utf8.count == TokenCodec.tokenLength, Self.hasTokenPrefix(token) else {
            return .failure(.token(.malformed))
        }
        let nowMs = Monotonic.milliseconds()
        let key = AuthorizationCache.key(token, proto)
        let cached = cache.lookup(key, nowMs: nowMs)
        Metrics.add(cached == nil ? Self.cacheMisses : Self.cacheHits)
        if let hit = cached {
            let verdict = recheck(hit, peer: peer)
            // Copied out only for a refusal: a valid range request on a cached link pays no copy of the claims.
            if case .failure = verdict { authentic = hit.claims }
            return verdict
        }
        let result = verify(token: token, protocol: proto, peer: peer, authentic: &authentic)
        if case .success(let d) = result { cache.store(key, d, nowMs: nowMs) }
        return result
    }

    /// A cached verdict, checked again for what can differ per request.
    private func recheck(_ hit: AuthorizedDownload, peer: [UInt8]?) -> Result<AuthorizedDownload, Denial> {
        // The cached verdict holds for this token and protocol; what can differ per request is the
        // clock (expiry within the cache second) and the peer (IP-bound tokens).
        if clock.now() > hit.claims.expiresAt + TokenCodec.expirySkew { return .failure(.token(.expired)) }
        if !signingKeyExists(hit.claims.kid) { return .failure(.token(.unknownKey)) }
        if let binding = hit.claims.ipBinding, !(peer.map(binding.contains) ?? false) {
            return .failure(.token(.addressNotAllowed))
        }
        if let denial = Self.linkDenial(hit, peer: peer) { return .failure(denial) }
        // A limited link's usage moves with every transfer on every node: re-read it (one primary-key
        // lookup, only for links with max_downloads) so a new request is refused once it is used up.
        if hit.link?.options.byteAllowance != nil {
            guard let fresh = try? store.tokenIssue(serial: hit.claims.serial) else { return .failure(.catalog) }
            if fresh.state(now: clock.now()) == .exhausted { return .failure(.exhausted) }
        }
        return .success(hit)
    }

    /// `igt1.` at the start, compared on the contiguous bytes (a generic `starts(with:)` over two UTF-8 views cost
    /// more than the rest of this check, issue 17; `Substring.withUTF8`, which may have to copy, about 240
    /// instructions).
    static func hasTokenPrefix(_ token: Substring) -> Bool {
        let prefix = TokenCodec.prefixBytes
        let inPlace = token.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.count >= prefix.count && memcmp(bytes.baseAddress!, prefix, prefix.count) == 0
        }
        return inPlace ?? token.utf8.starts(with: prefix)
    }

    /// The key that signed a token can still verify (not retired, removed or past `verify_until`). Every
    /// front re-checks this for sessions already open (`imagegate key retire`, Docs/tokens.md).
    func signingKeyExists(_ kid: UInt32) -> Bool { keys.keyring().key(kid, now: clock.now()) != nil }

    private func verify(token: Substring, protocol proto: ProtocolSet, peer: [UInt8]?, authentic: inout TokenClaims?)
        -> Result<AuthorizedDownload, Denial>
    {
        let claims: TokenClaims
        var verdict = codec.verify(
            token, keyring: keys.keyring(), now: clock.now(), maxLifetime: maxLifetime, protocol: proto, peer: peer,
            authentic: &authentic)
        if case .failure(.unknownKey) = verdict {
            // Perhaps minted a moment ago, on another node, with a key made by a rotation this process has not
            // looked at yet: ask the keyring's storage again (rate-limited) before refusing.
            verdict = codec.verify(
                token, keyring: keys.keyringAfterRefresh(), now: clock.now(), maxLifetime: maxLifetime,
                protocol: proto, peer: peer, authentic: &authentic)
        }
        switch verdict {
        case .failure(let r): return .failure(.token(r))
        case .success(let c): claims = c
        }
        let record: ImageRecord?
        do {
            record = try store.image(claims.image)
        } catch {
            return .failure(.catalog)
        }
        guard let record else { return .failure(.imageGone) }
        guard record.tenant == claims.tenant else { return .failure(.wrongTenant) }
        guard record.status == .available else { return .failure(.notAvailable) }
        guard record.generation == claims.generation else { return .failure(.staleGeneration) }
        let link: TokenIssue?
        do {
            if try store.isRevoked(serial: claims.serial) { return .failure(.revoked) }
            link = try store.tokenIssue(serial: claims.serial)
        } catch {
            return .failure(.catalog)
        }
        if let name = Self.protocolName(proto), let granted = link?.options.protocols, !granted.contains(name) {
            return .failure(.token(.protocolNotAllowed))
        }
        let download = AuthorizedDownload(
            claims: claims, image: record, link: link, logID: TokenRedaction.redact(token), now: clock.now())
        if let denial = Self.linkDenial(download, peer: peer) { return .failure(denial) }
        return .success(download)
    }

    /// The link's own limits that can differ per request: the client address (any of the link's CIDRs; the
    /// token's single binding was checked already) and, for a cached verdict, the allowance as last read.
    static func linkDenial(_ d: AuthorizedDownload, peer: [UInt8]?) -> Denial? {
        if !d.allowedIPs.isEmpty {
            guard let peer, d.allowedIPs.contains(where: { $0.contains(peer) }) else {
                return .token(.addressNotAllowed)
            }
        }
        if let link = d.link, let allowance = link.options.byteAllowance, link.usage.bytesServed >= allowance {
            return .exhausted
        }
        return nil
    }

    /// The protocol name (Docs/links.md) of the bits a front asks for: each name is granted on its own, so
    /// `http` (plain) does not open HTTPS although both need the token's `http` bit. The same names go into
    /// `download.refused` audit records and link webhooks.
    static func protocolName(_ required: ProtocolSet) -> String? {
        switch required {
        case .http: "https"
        case [.http, .httpPlain]: "http"
        case .ftps: "ftps"
        case [.ftps, .ftpPlain]: "ftp"
        case .sftp: "sftp"
        default: nil
        }
    }
}

extension DownloadAuthorizer {
    /// Whether a limited link's allowance is reached, counting `unreported` bytes a session sent and has not
    /// reported yet (an SFTP session's next OPEN). An unlimited link, or a catalog that does not answer: false
    /// (the session's own revalidation deals with an unreachable catalog).
    func allowanceUsedUp(_ grant: DownloadGrant, unreported: UInt64) -> Bool {
        guard let link = (try? store.tokenIssue(serial: grant.serial)) ?? nil,
            let allowance = link.options.byteAllowance
        else { return false }
        return link.usage.bytesServed.addingReportingOverflow(Int64(clamping: unreported)).partialValue >= allowance
    }

    /// Adds what a front served under a link to its usage in the catalog (best effort, like the audit
    /// record: a lost report makes the count smaller, it never fails a download). `newSessions` is 1 for the
    /// report that ends a session (an HTTP connection, an FTP or SFTP login), 0 for a report during one.
    /// `protocolName` is the front's (`https`, `http`, `ftps`, `ftp`, `sftp`), for `linkEvents`.
    func recordUse(_ grant: DownloadGrant, newSessions: Int64, bytes: UInt64, protocolName: String, peer: PeerAddress) {
        guard newSessions > 0 || bytes > 0 else { return }
        let use = LinkUse(
            serial: grant.serial, newSessions: newSessions, bytes: Int64(clamping: bytes), client: peer.host,
            at: clock.now())
        guard let after = try? store.recordLinkUse(use), let linkEvents else { return }
        for event in LinkUseEvent.transitions(after: after, use: use, protocolName: protocolName) { linkEvents(event) }
    }
}

extension DownloadAuthorizer {
    /// The names a session's one file answers to: the name the link was minted with (its URL's last
    /// segment), which stays valid for the link's whole life, and the image's current name when a rename
    /// made it differ. Links minted before the catalog recorded names (or a catalog hiccup here) fall back
    /// to the current name. One indexed lookup per login; HTTP ignores the name segment and needs none.
    func fileNames(_ d: AuthorizedDownload) -> (minted: String, others: [String]) {
        let current = d.image.fileName
        guard let minted = d.link?.fileName, minted != current else {
            return (current, [])
        }
        return (minted, [current])
    }

    /// The file an FTP or SFTP session shows: the names above, the catalog's size and date, and the blob
    /// store's reader for the grant's version. A grant of its own (with the names) per session, confirmed now.
    func servedFile(_ d: AuthorizedDownload, blobs: any BlobStorage) -> ServedFile {
        let names = fileNames(d)
        let image = d.image
        let g = d.grant
        let grant = DownloadGrant(
            image: g.image, generation: g.generation, tenant: g.tenant, serial: g.serial, keyID: g.keyID,
            expiresAt: g.expiresAt, protocols: g.protocols, fileName: names.minted, otherNames: names.others,
            logID: g.logID, confirmedAt: clock.now())
        let version = grant.version
        let size = image.size
        return ServedFile(
            name: names.minted, otherNames: names.others, size: size, modified: image.finalizedAt ?? image.updatedAt,
            grant: grant,
            open: { () throws(GateError) -> any BlobReader in
                try blobs.openReader(version, expectedSize: size)
            })
    }
}
