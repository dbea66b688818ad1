//===----------------------------------------------------------------------===//
// ImageGate: URL import policy, failure and result values.
//===----------------------------------------------------------------------===//

/// What a URL import may do. The defaults are the Docs/protocols.md §4.1 posture; an administrator loosens it
/// only through `allowedPrivateRanges` (e.g. an internal mirror) and tightens it with `allowedPorts`,
/// `deniedRanges` and the timeouts.
public struct FetchPolicy: Sendable {
    /// Schemes accepted for the first URL and for every redirect hop. Only `http`, `https` and `ftp` are
    /// implemented; anything else listed here is still refused (`scheme_not_allowed`).
    public var schemes: Set<String> = ["http", "https", "ftp"]
    /// Destination ports accepted (after defaulting: 80, 443, 21). nil accepts any port — the default, because
    /// mirrors commonly serve from odd ports; the address checks are what stop SSRF. `commonPorts` is the
    /// Docs/protocols.md §4.1 example list for deployments that want it.
    public var allowedPorts: Set<UInt16>? = nil
    /// Address ranges an administrator allows although they are in the Docs/protocols.md §4.1 block list
    /// (an internal mirror's network; the tests' 127.0.0.1/32). Empty by default.
    public var allowedPrivateRanges: [AddressRange] = []
    /// Ranges always refused, even if allow-listed: the gateway's own addresses and its management network.
    public var deniedRanges: [AddressRange] = []
    /// Redirect hops followed per attempt; one more is `too_many_redirects`.
    public var maxRedirects = 5
    /// TCP (+TLS) connect timeout per connection (CURLOPT_CONNECTTIMEOUT).
    public var connectTimeoutSeconds = 10
    /// A transfer that moves no byte for this long is dropped (CURLOPT_LOW_SPEED_TIME with a 1 B/s floor;
    /// also the FTP control-response timeout) and then retried like any other dropped connection.
    public var idleTimeoutSeconds = 60
    /// Wall-clock cap for the whole `run`, retries and redirects included; 0 means none. Hitting it is final.
    public var maxSeconds = 0
    /// How many times a dropped source connection is re-opened and resumed (Range / REST) within one `run`.
    public var maxRetries = 5
    /// First pause between retries in milliseconds; doubles per retry, capped at 5 s.
    public var retryBackoffMilliseconds = 250
    /// Largest source accepted, in bytes (Docs/protocols.md §4.2): a declared size over it fails before the body,
    /// and streaming stops before the first byte over it (`too_large`). nil: the caller's sink enforces it.
    public var maxBytes: UInt64? = nil
    /// A PEM CA bundle that *replaces* the system trust store (CURLOPT_CAINFO): libcurl takes one bundle, so
    /// for a private mirror CA, pass a file holding both. The tests pass their development CA.
    public var caFile: String? = nil
    /// Test hook: skip the pre-connect resolve-and-check so the connect-time re-check can be tested alone.
    var skipPreflightForTesting = false

    /// Docs/protocols.md §4.1's example port allow-list.
    public static let commonPorts: Set<UInt16> = [21, 80, 443, 8080, 8443]

    public init() {}
}

/// Why a fetch failed. `code` is stable (see the list in Docs/url-import.md); `message` is for people and
/// never holds URL credentials or a query string: every message is built from redacted URLs and scrubbed.
public struct FetchFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String
    /// For the server log only, never for the tenant: e.g. the address a refused name resolved to (telling a
    /// tenant which internal address a name has would map the network for them, issue #11 item 20).
    public let logDetail: String?

    public init(code: String, message: String, logDetail: String? = nil) {
        self.code = code
        self.message = message
        self.logDetail = logDetail
    }

    public var description: String { "\(code): \(message)" }

    static func badURL(_ why: String) -> FetchFailure { FetchFailure(code: "bad_url", message: why) }
    /// The tenant sees only "destination not allowed"; which address and which rule go to `logDetail`.
    static func refused(_ why: String) -> FetchFailure {
        FetchFailure(
            code: "destination_not_allowed", message: "destination not allowed; nothing was fetched", logDetail: why)
    }
    static func sourceChanged(_ why: String) -> FetchFailure { FetchFailure(code: "source_changed", message: why) }
    static let cancelled = FetchFailure(code: "cancelled", message: "import cancelled")
    static let aborted = FetchFailure(code: "aborted", message: "the receiver stopped the transfer")
}

/// A completed fetch.
public struct FetchResult: Sendable, Equatable {
    /// Bytes delivered to the sink by this `run` (excluding the caller's `resumeFrom`).
    public let bytes: UInt64
    /// The source's full size when it declared one (Content-Length, Content-Range total, FTP SIZE).
    public let totalSize: UInt64?
    /// The URL the bytes came from after redirects, redacted (`URLRedaction`).
    public let finalURL: String
    /// What to pass back as `validator` to resume later: a strong ETag (`"…"`), else an HTTP
    /// Last-Modified date, else for FTP `mdtm:<unix seconds>`; nil when the source offered none.
    public let validator: String?
    /// How many dropped connections were resumed.
    public let retries: Int
}
