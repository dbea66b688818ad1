//===----------------------------------------------------------------------===//
// ImageGate: parsed HTTP/1.x request head, parse limits, errors and results
//===----------------------------------------------------------------------===//

/// The two protocol versions the gateway speaks on the wire (RFC 9112 §2.3).
public enum HTTPVersion: Sendable, Equatable {
    case http10
    case http11
}

/// One validated HTTP/1.x request head, produced by ``RequestParser``.
///
/// Every field has already passed the checks in `Docs/http-parsing.md`; the server only applies routing and
/// method policy (405, GET/HEAD only) on top.
public struct RequestHead: Sendable {
    /// The method token exactly as received (case-sensitive, RFC 9110 §9.1).
    public var method: String
    /// The raw request-target as received (origin-form or absolute-form).
    public var target: String
    /// Origin-form path, still percent-encoded, without the query. For absolute-form targets the scheme and
    /// authority are dropped (RFC 9112 §3.2.2: the authority wins, Host is ignored); an empty path becomes "/".
    public var path: String
    /// The raw query without the leading '?', or nil when the target has no '?'.
    public var query: String?
    public var version: HTTPVersion
    /// Field lines in order: names lowercased, values with leading/trailing OWS removed (RFC 9112 §5.1).
    /// Values holding obs-text that is not valid UTF-8 are decoded with U+FFFD replacement.
    public var headers: [(name: String, value: String)]
    /// Whether the connection stays open after this exchange (RFC 9112 §9.3).
    public var keepAlive: Bool
    /// The validated `Content-Length`, 0 when absent.
    public var contentLength: UInt64
    /// True for `Expect: 100-continue` on HTTP/1.1 (RFC 9110 §10.1.1: ignored on HTTP/1.0).
    public var expectsContinue: Bool

    public init(
        method: String, target: String, path: String, query: String?, version: HTTPVersion,
        headers: [(name: String, value: String)], keepAlive: Bool, contentLength: UInt64, expectsContinue: Bool
    ) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.keepAlive = keepAlive
        self.contentLength = contentLength
        self.expectsContinue = expectsContinue
    }

    /// The first value of the field `lowercasedName`, or nil.
    /// Lengths first: comparing two unequal Strings takes the slow path, and a download asks for six names
    /// of a two-field head (issue 17).
    public func header(_ lowercasedName: String) -> String? {
        let count = lowercasedName.utf8.count
        for field in headers where field.name.utf8.count == count && field.name == lowercasedName {
            return field.value
        }
        return nil
    }

    /// All values of the field `lowercasedName`, in order.
    public func headers(_ lowercasedName: String) -> [String] {
        var result: [String] = []
        let count = lowercasedName.utf8.count
        for field in headers where field.name.utf8.count == count && field.name == lowercasedName {
            result.append(field.value)
        }
        return result
    }
}

/// Size limits applied while parsing; exceeding one fails with 414 or 431.
public struct ParseLimits: Sendable {
    /// Longest request line in octets, excluding its CRLF (RFC 9112 §3 asks for at least 8000) → 414.
    public var maxRequestLine = 8192
    /// Longest field section in octets, counting every field line with its line ending but not the final empty
    /// line (RFC 9110 §5.4 / RFC 6585 §5) → 431.
    public var maxHeaderBytes = 32768
    /// Most field lines accepted → 431.
    public var maxHeaderCount = 100
    /// When false (the default), GET and HEAD requests with `Content-Length` > 0 fail with 400: the gateway never
    /// reads a body on them, and leaving one unread would desync the connection (Docs/protocols.md §2.1 item 8).
    public var allowBodyOnGetOrHead = false

    public init() {}
}

/// Why a request head was rejected. The server answers `status` with `Connection: close` and closes
/// (Docs/protocols.md §2.1 item 14: never resynchronise after a framing error).
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400, 414, 431, 501 or 505.
    public var status: Int
    /// Short fixed text, safe to log; never contains request bytes.
    public var reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status) \(reason)" }

    @inline(never) static func bad(_ reason: String) -> HTTPParseError { HTTPParseError(status: 400, reason: reason) }
    @inline(never) static func uriTooLong() -> HTTPParseError {
        HTTPParseError(status: 414, reason: "request line too long")
    }
    @inline(never) static func fieldsTooLarge(_ reason: String) -> HTTPParseError {
        HTTPParseError(status: 431, reason: reason)
    }
    @inline(never) static func notImplemented() -> HTTPParseError {
        HTTPParseError(status: 501, reason: "unknown method")
    }
    @inline(never) static func versionNotSupported() -> HTTPParseError {
        HTTPParseError(status: 505, reason: "HTTP version not supported")
    }
}

/// Outcome of one ``RequestParser/parse(_:)`` call.
public enum ParseResult: Sendable {
    /// The head is incomplete but everything so far is valid and within limits: read more and call again.
    case needMore
    /// A complete head; `consumed` octets (through the empty line) belong to it, the rest is body or the next
    /// pipelined request.
    case head(RequestHead, consumed: Int)
    /// The request is invalid: answer `status` and close.
    case failure(HTTPParseError)
}
