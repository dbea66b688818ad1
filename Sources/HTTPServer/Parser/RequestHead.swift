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
///
/// The head is its received bytes plus offsets into them (Docs/http-parsing.md, "Representation"): one
/// array holds the bytes from the request line through the empty line, followed by a table of four `UInt32`
/// per field line (name start, name end, value start, value end). Nothing is turned into a String while
/// parsing; `path`, `target`, `query`, `header(_:)` and `headers` make Strings only when asked, and the hot path
/// reads bytes (`withPath`, `withHeader`, `pathEquals`) without making any (issue 17).
public struct RequestHead: Sendable {
    /// Head bytes, then the field table (see the type's comment).
    @usableFromInline let storage: [UInt8]
    /// Where the field table starts in `storage` (4-byte aligned).
    let table: Int
    /// Number of field lines.
    public let fieldCount: Int
    /// The method token exactly as received (case-sensitive, RFC 9110 §9.1). For the nine known methods this
    /// is a literal, so comparing it with `"GET"` costs no allocation.
    public var method: String
    /// Offsets of the raw request-target, of the path (nil: "/") and of the query (without '?').
    let targetRange: Range<Int>
    @usableFromInline let pathRange: Range<Int>?
    @usableFromInline let queryRange: Range<Int>?
    public var version: HTTPVersion
    /// Whether the connection stays open after this exchange (RFC 9112 §9.3).
    public var keepAlive: Bool
    /// The validated `Content-Length`, 0 when absent.
    public var contentLength: UInt64
    /// True for `Expect: 100-continue` on HTTP/1.1 (RFC 9110 §10.1.1: ignored on HTTP/1.0).
    public var expectsContinue: Bool

    /// Built by the parser: `storage` already holds the bytes and the field table.
    init(
        storage: [UInt8], table: Int, fieldCount: Int, method: String, target: Range<Int>, path: Range<Int>?,
        query: Range<Int>?, version: HTTPVersion, keepAlive: Bool, contentLength: UInt64, expectsContinue: Bool
    ) {
        self.storage = storage
        self.table = table
        self.fieldCount = fieldCount
        self.method = method
        self.targetRange = target
        self.pathRange = path
        self.queryRange = query
        self.version = version
        self.keepAlive = keepAlive
        self.contentLength = contentLength
        self.expectsContinue = expectsContinue
    }

    /// A head made from parts (tests, and the CLI's in-process API calls): the parts are laid out in one byte
    /// array the way the parser lays out received bytes. Names should be lowercase, as the parser's lookups
    /// ignore case anyway.
    public init(
        method: String, target: String, path: String, query: String?, version: HTTPVersion,
        headers: [(name: String, value: String)], keepAlive: Bool, contentLength: UInt64, expectsContinue: Bool
    ) {
        var bytes: [UInt8] = []
        func put(_ s: String) -> Range<Int> {
            let start = bytes.count
            bytes.append(contentsOf: s.utf8)
            return start..<bytes.count
        }
        let targetRange = put(target)
        let pathRange = put(path)
        let queryRange = query.map(put)
        var ranges: [(Range<Int>, Range<Int>)] = []
        for (name, value) in headers { ranges.append((put(name), put(value))) }
        let table = Self.appendTable(&bytes, ranges.count) { ranges[$0] }
        self.init(
            storage: bytes, table: table, fieldCount: ranges.count, method: method, target: targetRange,
            path: pathRange, query: queryRange, version: version, keepAlive: keepAlive,
            contentLength: contentLength, expectsContinue: expectsContinue)
    }

    /// Pads `bytes` to a 4-byte boundary and appends the field table; returns where it starts.
    static func appendTable(
        _ bytes: inout [UInt8], _ count: Int, _ field: (Int) -> (name: Range<Int>, value: Range<Int>)
    ) -> Int {
        while bytes.count % 4 != 0 { bytes.append(0) }
        let table = bytes.count
        for k in 0..<count {
            let (name, value) = field(k)
            for v in [name.lowerBound, name.upperBound, value.lowerBound, value.upperBound] {
                withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { bytes.append(contentsOf: $0) }
            }
        }
        return table
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
