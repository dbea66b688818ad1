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
    let storage: [UInt8]
    /// Where the field table starts in `storage` (4-byte aligned).
    let table: Int
    /// Number of field lines.
    public let fieldCount: Int
    /// The method token exactly as received (case-sensitive, RFC 9110 §9.1). For the nine known methods this
    /// is a literal, so comparing it with `"GET"` costs no allocation.
    public var method: String
    /// Offsets of the raw request-target, of the path (nil: "/") and of the query (without '?').
    let targetRange: Range<Int>
    let pathRange: Range<Int>?
    let queryRange: Range<Int>?
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

    // MARK: bytes (no allocation)

    /// Offsets of field `k`'s name and (OWS-trimmed) value in the head bytes.
    @inline(__always)
    func field(_ k: Int, in raw: UnsafeRawBufferPointer) -> (name: Range<Int>, value: Range<Int>) {
        let at = table + 16 * k
        let a = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        let b = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)))
        let c = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 8, as: UInt32.self)))
        let d = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self)))
        return (a..<b, c..<d)
    }

    /// Index of the first field named `lowercasedName` (ASCII case-insensitive) from `start`, or nil.
    @inline(__always)
    func findField(_ name: UnsafeRawBufferPointer, in raw: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
        var k = start
        while k < fieldCount {
            let f = field(k, in: raw)
            if f.name.count == name.count {
                var equal = true
                for j in 0..<name.count where ASCII.lower(raw[f.name.lowerBound + j]) != name[j] {
                    equal = false
                    break
                }
                if equal { return k }
            }
            k += 1
        }
        return nil
    }

    /// Calls `body` with the value bytes of the first field named `lowercasedName`, or nil when absent.
    public func withHeader<R>(_ lowercasedName: StaticString, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        let name = UnsafeRawBufferPointer(start: lowercasedName.utf8Start, count: lowercasedName.utf8CodeUnitCount)
        return storage.withUnsafeBytes { raw in
            guard let k = findField(name, in: raw) else { return body(nil) }
            return body(UnsafeRawBufferPointer(rebasing: raw[field(k, in: raw).value]))
        }
    }

    /// Whether a field named `lowercasedName` is present.
    public func hasHeader(_ lowercasedName: StaticString) -> Bool {
        withHeader(lowercasedName) { $0 != nil }
    }

    /// Calls `body` with the still percent-encoded path bytes (without the query; "/" for an absolute-form
    /// target without a path).
    public func withPath<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard let pathRange else {
            let root: StaticString = "/"
            return body(UnsafeRawBufferPointer(start: root.utf8Start, count: 1))
        }
        return storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[pathRange])) }
    }

    /// The query bytes (after '?'), or nil when the target has no '?'.
    public func withQuery<R>(_ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let queryRange else { return body(nil) }
        return storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[queryRange])) }
    }

    /// Whether the path is exactly `text` (byte-wise; a literal's bytes are read in place).
    public func pathEquals(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { t in withPath { $0.elementsEqual(t) } }
    }

    /// Whether the path starts with `text` (byte-wise).
    public func pathHasPrefix(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { t in withPath { $0.count >= t.count && $0.prefix(t.count).elementsEqual(t) } }
    }

    // MARK: Strings (made when asked)

    /// The raw request-target as received (origin-form or absolute-form).
    public var target: String { string(targetRange) }

    /// Origin-form path, still percent-encoded, without the query. For absolute-form targets the scheme and
    /// authority are dropped (RFC 9112 §3.2.2: the authority wins, Host is ignored); an empty path becomes "/".
    public var path: String { pathRange.map(string) ?? "/" }

    /// The raw query without the leading '?', or nil when the target has no '?'.
    public var query: String? { queryRange.map(string) }

    /// Field lines in order: names lowercased, values with leading/trailing OWS removed (RFC 9112 §5.1).
    /// Values holding obs-text that is not valid UTF-8 are decoded with U+FFFD replacement.
    public var headers: [(name: String, value: String)] {
        storage.withUnsafeBytes { raw in
            (0..<fieldCount).map { k in
                let f = field(k, in: raw)
                return (
                    name: RequestParser.lowercasedString(UnsafeRawBufferPointer(rebasing: raw[f.name])),
                    value: String(decoding: UnsafeRawBufferPointer(rebasing: raw[f.value]), as: UTF8.self)
                )
            }
        }
    }

    /// The first value of the field `lowercasedName`, or nil.
    public func header(_ lowercasedName: String) -> String? {
        var name = lowercasedName
        return name.withUTF8 { name in
            storage.withUnsafeBytes { raw in
                guard let k = findField(UnsafeRawBufferPointer(name), in: raw) else { return nil }
                return String(decoding: UnsafeRawBufferPointer(rebasing: raw[field(k, in: raw).value]), as: UTF8.self)
            }
        }
    }

    /// All values of the field `lowercasedName`, in order.
    public func headers(_ lowercasedName: String) -> [String] {
        var name = lowercasedName
        return name.withUTF8 { name in
            storage.withUnsafeBytes { raw in
                var result: [String] = []
                var k = 0
                while let hit = findField(UnsafeRawBufferPointer(name), in: raw, from: k) {
                    result.append(
                        String(
                            decoding: UnsafeRawBufferPointer(rebasing: raw[field(hit, in: raw).value]), as: UTF8.self))
                    k = hit + 1
                }
                return result
            }
        }
    }

    private func string(_ range: Range<Int>) -> String {
        storage.withUnsafeBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[range]), as: UTF8.self) }
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
