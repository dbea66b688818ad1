//===----------------------------------------------------------------------===//
// ImageGate: what the catalog keeps about a minted link beyond its token: options, usage, state, queries.
//===----------------------------------------------------------------------===//
import GateCore

/// The mint options of a link (Docs/links.md, "Mint options"). The token carries what it can (protocol bits,
/// one IP prefix); the catalog carries the exact grant, which every front checks (DownloadAuthorizer).
public struct LinkOptions: Sendable, Equatable {
    /// The protocol names granted (`https`, `http`, `ftps`, `ftp`, `sftp`), each on its own. nil for links
    /// minted before migration 8: their token's bits decide alone.
    public var protocols: [String]?
    /// CIDRs the client address must be in (empty: any address).
    public var allowedIPs: [String]
    /// nil: unlimited.
    public var maxDownloads: Int64?
    /// The image's size when minted (for the allowance and `completed_downloads`).
    public var imageSize: Int64
    /// Free text.
    public var label: String

    public init(
        protocols: [String]? = nil, allowedIPs: [String] = [], maxDownloads: Int64? = nil, imageSize: Int64 = 0,
        label: String = ""
    ) {
        self.protocols = protocols
        self.allowedIPs = allowedIPs
        self.maxDownloads = maxDownloads
        self.imageSize = imageSize
        self.label = label
    }

    /// Bytes the link may serve: N × image size × 1.1 + 16 MiB (Docs/links.md, "max_downloads"). The margin
    /// covers what resumed and segmented downloads fetch twice (a range re-requested after a dropped
    /// connection, overlapping segments), so N whole downloads always fit.
    public var byteAllowance: Int64? {
        guard let n = maxDownloads else { return nil }
        let (copies, overflow) = n.multipliedReportingOverflow(by: imageSize)
        if overflow { return Int64.max }
        let withMargin = copies.addingReportingOverflow(copies / 10)
        let total = withMargin.partialValue.addingReportingOverflow(Self.allowanceSlack)
        return withMargin.overflow || total.overflow ? Int64.max : total.partialValue
    }

    /// The fixed part of the allowance: 16 MiB.
    public static let allowanceSlack: Int64 = 16 << 20
}

/// What the fronts recorded under a link, counted in the catalog (increments, so every node adds to the same
/// numbers).
public struct LinkUsage: Sendable, Equatable {
    /// Download sessions: HTTP connections that used the link, FTP and SFTP logins.
    public var sessions: Int64
    public var bytesServed: Int64
    public var lastClient: String?
    public var lastUsedAt: Int64?

    public init(sessions: Int64 = 0, bytesServed: Int64 = 0, lastClient: String? = nil, lastUsedAt: Int64? = nil) {
        self.sessions = sessions
        self.bytesServed = bytesServed
        self.lastClient = lastClient
        self.lastUsedAt = lastUsedAt
    }
}

/// The state of a link, in the order it is decided: revoked, expired, exhausted, else active.
public enum LinkState: String, Sendable, CaseIterable {
    case active, expired, revoked, exhausted
}

extension TokenIssue {
    public func state(now: Int64) -> LinkState {
        if revokedAt != nil { return .revoked }
        if now > expiresAt { return .expired }
        if let allowance = options.byteAllowance, usage.bytesServed >= allowance { return .exhausted }
        return .active
    }

    /// Whole copies of the image served: bytes served ÷ image size, rounded down. A resumed or segmented
    /// download adds up to one copy, as one download should.
    public var completedDownloads: Int64 {
        options.imageSize > 0 ? usage.bytesServed / options.imageSize : 0
    }
}

/// Filters of the link inventory (`GET /api/v1/links`, `imagegate link list`); nil = no filter. Newest first
/// (issue time, then serial, both descending), so pages are stable.
public struct LinkQuery: Sendable, Equatable {
    public var image: ImageID?
    public var tenant: TenantID?
    public var minter: String?
    public var state: LinkState?
    /// The time the state filter is decided at.
    public var now: Int64
    public var limit: Int
    public var offset: Int

    public init(
        image: ImageID? = nil, tenant: TenantID? = nil, minter: String? = nil, state: LinkState? = nil, now: Int64,
        limit: Int = 100, offset: Int = 0
    ) {
        self.image = image
        self.tenant = tenant
        self.minter = minter
        self.state = state
        self.now = now
        self.limit = limit
        self.offset = offset
    }
}

/// One report of a front about a link: a new session (login or connection), and/or bytes served since the
/// last report.
public struct LinkUse: Sendable, Equatable {
    public var serial: ID128
    public var newSessions: Int64
    public var bytes: Int64
    public var client: String
    public var at: Int64

    public init(serial: ID128, newSessions: Int64, bytes: Int64, client: String, at: Int64) {
        self.serial = serial
        self.newSessions = newSessions
        self.bytes = bytes
        self.client = client
        self.at = at
    }
}

/// What a usage report changed about a link, for notifications (webhooks `link.first_use`, `link.exhausted`).
public enum LinkUseEvent: Sendable, Equatable {
    /// The link's first report: nothing had been recorded under it before.
    case firstUse(TokenIssue, protocolName: String, client: String)
    /// This report made the bytes served reach the allowance.
    case exhausted(TokenIssue, bytesServed: Int64, allowance: Int64)

    /// The transitions of one report, from the record as the report's own update left it (`after`) and the
    /// report: each is seen by exactly one report, on whichever node, because the increments are serialized.
    public static func transitions(after: TokenIssue, use: LinkUse, protocolName: String) -> [LinkUseEvent] {
        var out: [LinkUseEvent] = []
        let bytesBefore = after.usage.bytesServed - use.bytes
        if after.usage.sessions - use.newSessions == 0 && bytesBefore == 0 {
            out.append(.firstUse(after, protocolName: protocolName, client: use.client))
        }
        if let allowance = after.options.byteAllowance, bytesBefore < allowance, after.usage.bytesServed >= allowance {
            out.append(.exhausted(after, bytesServed: after.usage.bytesServed, allowance: allowance))
        }
        return out
    }
}

/// How lists travel in one catalog column (protocols, allowed IPs): comma-separated, since neither a protocol
/// name nor a CIDR contains a comma.
public enum LinkColumns {
    public static func join(_ list: [String]) -> String { list.joined(separator: ",") }
    public static func split(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }
}
