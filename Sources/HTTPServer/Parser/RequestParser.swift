//===----------------------------------------------------------------------===//
// ImageGate: strict HTTP/1.1 request-head scanner (RFC 9112 §2-§5)
//===----------------------------------------------------------------------===//

/// Parses HTTP/1.x request heads from raw bytes.
///
/// The parser is stateless: each call scans `buffer` from its start in one pass and either needs more bytes,
/// returns a complete head, or fails. Re-scanning on every read is cheap because the head is capped at
/// `maxRequestLine + maxHeaderBytes` octets, and it keeps the parser trivially `Sendable` and restartable.
/// No String is built: the head keeps its bytes and their offsets (see `RequestParser+Head.swift`).
///
/// Every rule and its status code is listed in `Docs/http-parsing.md`.
public struct RequestParser: Sendable {
    public var limits: ParseLimits

    public init(limits: ParseLimits = ParseLimits()) {
        self.limits = limits
    }

    /// Offsets of the request line's three parts inside the buffer.
    struct RequestLine {
        var method: Range<Int>
        /// The method as a literal (every accepted method is one of the nine known ones).
        var methodName: String
        var target: Range<Int>
        /// The origin-form path; nil stands for "/" (absolute-form target with an empty path).
        var path: Range<Int>?
        /// The query after '?', if any.
        var query: Range<Int>?
        var version: HTTPVersion
    }

    /// Outcome of scanning one piece of the head.
    enum Step<T> {
        case done(T, next: Int)
        case needMore
        case failure(HTTPParseError)
        /// More field lines than the field table given to `scanFields` holds: scan again with a larger one.
        case tableFull
    }

    /// Field lines whose offsets fit in the table kept on the stack: 64 × 16 bytes stays within what
    /// `withUnsafeTemporaryAllocation` places on the stack without asking the thread's stack size. A head with
    /// more fields (up to `maxHeaderCount`) is scanned again with a heap table.
    static let stackFields = 64

    /// Parses one request head from the start of `buffer` (which may hold pipelined data after it).
    ///
    /// - Returns: `.needMore` while the head is incomplete but valid and within limits (a request line longer
    ///   than `maxRequestLine` fails with 414 and a field section above `maxHeaderBytes` with 431 before their
    ///   line ends arrive); `.head` with the octets consumed through the empty line; or `.failure`.
    public func parse(_ buffer: UnsafeRawBufferPointer) -> ParseResult {
        let result = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 4 * Self.stackFields) {
            parse(buffer, table: $0)
        }
        if let result { return result }
        var table = [UInt32](repeating: 0, count: 4 * max(limits.maxHeaderCount, Self.stackFields))
        return table.withUnsafeMutableBufferPointer { parse(buffer, table: $0) } ?? .needMore
    }

    /// `parse` with the field offsets gathered in `table` (four per field: name start and end, value start and
    /// end); nil when the head has more fields than `table` holds.
    func parse(_ buffer: UnsafeRawBufferPointer, table: UnsafeMutableBufferPointer<UInt32>) -> ParseResult? {
        let n = buffer.count
        guard n > 0 else { return .needMore }

        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line received before the request line.
        // We tolerate exactly one; more is not client robustness but garbage (Docs/protocols.md §2.2).
        var i = 0
        if buffer[0] == ASCII.cr {
            guard n > 1 else { return .needMore }
            guard buffer[1] == ASCII.lf else { return .failure(.bad("bare CR")) }
            i = 2
        } else if buffer[0] == ASCII.lf {
            i = 1
        }
        if i > 0 {
            guard i < n else { return .needMore }
            if buffer[i] == ASCII.cr || buffer[i] == ASCII.lf {
                return .failure(.bad("more than one empty line before request line"))
            }
        }

        let line: RequestLine
        switch scanRequestLine(buffer, from: i) {
        case .done(let value, let next):
            line = value
            i = next
        case .needMore: return .needMore
        case .failure(let error): return .failure(error)
        case .tableFull: return nil
        }

        let fieldCount: Int
        switch scanFields(buffer, from: i, into: table) {
        case .done(let value, let next):
            fieldCount = value
            i = next
        case .needMore: return .needMore
        case .failure(let error): return .failure(error)
        case .tableFull: return nil
        }

        switch makeHead(buffer, end: i, line: line, table: UnsafeBufferPointer(rebasing: table[0..<4 * fieldCount])) {
        case .success(let head): return .head(head, consumed: i)
        case .failure(let error): return .failure(error)
        }
    }

    /// Scans `method SP request-target SP HTTP-version CRLF` (RFC 9112 §3) with exactly single spaces: lenient
    /// whitespace handling is a request-smuggling vector (RFC 9112 §3, last paragraph).
    ///
    /// Syntax errors (400) are reported first, then 505 for a well-formed but unsupported version, then 501 for
    /// an unknown method; both are reported as soon as the line is complete, without waiting for the fields.
    func scanRequestLine(_ buffer: UnsafeRawBufferPointer, from start: Int) -> Step<RequestLine> {
        let n = buffer.count
        let maxLine = limits.maxRequestLine

        /// The buffer ended inside the request line: 414 once the line can no longer fit, else wait.
        func incomplete() -> Step<RequestLine> {
            var have = n - start
            if buffer[n - 1] == ASCII.cr { have -= 1 }  // a pending CR is part of the terminator
            return have > maxLine ? .failure(.uriTooLong()) : .needMore
        }

        // method = token (RFC 9110 §9.1)
        var i = start
        while i < n, ASCII.isTchar(buffer[i]) { i += 1 }
        if i == n { return incomplete() }
        let method = start..<i
        guard buffer[i] == ASCII.space, !method.isEmpty else { return .failure(Self.requestLineError(buffer[i])) }
        i += 1

        // request-target: visible ASCII only, no whitespace (RFC 9112 §3.2)
        let targetStart = i
        // Usually the target runs to the next space and is all target bytes: found and checked in bulk. Anything
        // else takes the byte loop, which stops where the bulk check would have failed.
        let space = ASCII.find(ASCII.space, in: buffer, from: i, to: n)
        if space < n, ASCII.allTargetBytes(buffer, from: i, to: space) {
            i = space
        } else {
            while i < n, ASCII.isTargetByte(buffer[i]) { i += 1 }
        }
        if i == n { return incomplete() }
        let target = targetStart..<i
        guard buffer[i] == ASCII.space, !target.isEmpty else {
            if buffer[i] == ASCII.cr || buffer[i] == ASCII.lf {
                return .failure(.bad("missing HTTP version"))  // HTTP/0.9 simple request
            }
            return .failure(target.isEmpty ? .bad("extra whitespace in request line") : .bad("invalid request target"))
        }
        i += 1

        // HTTP-version, then the line ending
        let versionStart = i
        while i < n, buffer[i] != ASCII.cr, buffer[i] != ASCII.lf { i += 1 }
        if i - start > maxLine { return .failure(.uriTooLong()) }
        if i == n { return incomplete() }
        var next = i + 1
        if buffer[i] == ASCII.cr {
            guard i + 1 < n else { return .needMore }
            guard buffer[i + 1] == ASCII.lf else { return .failure(.bad("bare CR")) }  // RFC 9112 §2.2
            next = i + 2
        }

        // 400s first (version syntax, target form), then 505, then 501.
        let versionResult = Self.version(UnsafeRawBufferPointer(rebasing: buffer[versionStart..<i]))
        if case .failure(let error) = versionResult, error.status == 400 { return .failure(error) }
        let parts: TargetParts
        switch Self.targetParts(buffer, target) {
        case .success(let value): parts = value
        case .failure(let error): return .failure(error)
        }
        let version: HTTPVersion
        switch versionResult {
        case .success(let v): version = v
        case .failure(let error): return .failure(error)
        }
        guard let methodName = Self.knownMethod(UnsafeRawBufferPointer(rebasing: buffer[method])) else {
            return .failure(.notImplemented())
        }
        let line = RequestLine(
            method: method, methodName: methodName, target: target, path: parts.path, query: parts.query,
            version: version)
        return .done(line, next: next)
    }

    /// The 400 reason for a byte that ended the method token early.
    static func requestLineError(_ b: UInt8) -> HTTPParseError {
        switch b {
        case ASCII.space: return .bad("extra whitespace in request line")
        case ASCII.tab: return .bad("tab in request line")
        case ASCII.cr, ASCII.lf: return .bad("malformed request line")
        default: return .bad("invalid method character")
        }
    }

    /// `HTTP-version = "HTTP/" DIGIT "." DIGIT` (RFC 9112 §2.3). 1.0 and 1.1 are served; any other well-formed
    /// version (HTTP/2.0, HTTP/0.9, HTTP/3.0) → 505; anything else (`HTTP/1.1x`, `http/1.1`, `HTTP/2`, trailing
    /// space) → 400.
    static func version(_ v: UnsafeRawBufferPointer) -> Result<HTTPVersion, HTTPParseError> {
        guard v.count == 8, v[0] == 0x48, v[1] == 0x54, v[2] == 0x54, v[3] == 0x50, v[4] == ASCII.slash,
            ASCII.isDigit(v[5]), v[6] == ASCII.dot, ASCII.isDigit(v[7])
        else {
            for b in v where b == ASCII.space || b == ASCII.tab {
                return .failure(.bad("extra whitespace in request line"))
            }
            return .failure(.bad("malformed HTTP version"))
        }
        if v[5] == 0x31, v[7] == 0x31 { return .success(.http11) }
        if v[5] == 0x31, v[7] == 0x30 { return .success(.http10) }
        return .failure(.versionNotSupported())
    }

    /// The methods registered in RFC 9110 §9 plus PATCH (RFC 5789). Methods are case-sensitive, so `get` is
    /// simply unknown (→ 501, RFC 9110 §9.1). Known-but-disallowed methods are the server's 405.
    /// Returns the method as a String literal (no allocation, and `==` with a literal compares in one step), or
    /// nil for an unknown one.
    static func knownMethod(_ m: UnsafeRawBufferPointer) -> String? {
        switch m.count {
        case 3: return equals(m, "GET") ? "GET" : equals(m, "PUT") ? "PUT" : nil
        case 4: return equals(m, "HEAD") ? "HEAD" : equals(m, "POST") ? "POST" : nil
        case 5: return equals(m, "PATCH") ? "PATCH" : equals(m, "TRACE") ? "TRACE" : nil
        case 6: return equals(m, "DELETE") ? "DELETE" : nil
        case 7: return equals(m, "CONNECT") ? "CONNECT" : equals(m, "OPTIONS") ? "OPTIONS" : nil
        default: return nil
        }
    }

    /// Byte-exact comparison with an ASCII literal of the same length.
    @inline(__always)
    static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let l = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard l.count == bytes.count else { return false }
        for k in 0..<l.count where bytes[k] != l[k] {
            return false
        }
        return true
    }

    /// Scans field lines up to and including the empty line (RFC 9112 §5).
    ///
    /// Rejects, with 400: leading whitespace on any field line (obs-fold, RFC 9112 §5.2, and whitespace before
    /// the first field, §2.2), a name that is not a token or has whitespace before the colon (§5.1), and CR, LF,
    /// NUL or any other CTL except HTAB in a value (RFC 9110 §5.5). obs-text (0x80-0xFF) is allowed in values.
    /// Enforces `maxHeaderCount` and `maxHeaderBytes` (431) while scanning, so a missing empty line cannot make
    /// the server buffer without bound.
    /// Field offsets go to `table`, four per field; the result is the number of fields.
    func scanFields(
        _ buffer: UnsafeRawBufferPointer, from start: Int, into table: UnsafeMutableBufferPointer<UInt32>
    ) -> Step<Int> {
        let n = buffer.count
        let maxBytes = limits.maxHeaderBytes
        var count = 0
        var i = start

        /// The buffer ended inside a field line.
        func incomplete() -> Step<Int> {
            n - start > maxBytes ? .failure(.fieldsTooLarge("header section too large")) : .needMore
        }

        while true {
            if i == n { return .needMore }
            let first = buffer[i]
            if first == ASCII.cr {  // the empty line ends the head
                guard i + 1 < n else { return .needMore }
                guard buffer[i + 1] == ASCII.lf else { return .failure(.bad("bare CR")) }
                return .done(count, next: i + 2)
            }
            if first == ASCII.lf { return .done(count, next: i + 1) }
            if first == ASCII.space || first == ASCII.tab {
                return .failure(.bad(count == 0 ? "whitespace before first field" : "obsolete line folding"))
            }

            // field-name = token, immediately followed by ':'
            let nameStart = i
            while i < n, ASCII.isTchar(buffer[i]) { i += 1 }
            if i == n { return incomplete() }
            guard buffer[i] == ASCII.colon, i > nameStart else {
                switch buffer[i] {
                case ASCII.space, ASCII.tab: return .failure(.bad("whitespace before colon"))
                case ASCII.cr, ASCII.lf: return .failure(.bad("field line without colon"))
                default: return .failure(.bad("invalid field name"))
                }
            }
            let nameEnd = i
            i += 1

            // OWS field-value OWS
            while i < n, buffer[i] == ASCII.space || buffer[i] == ASCII.tab { i += 1 }
            let valueStart = i
            var valueEnd = i
            while i < n {
                let b = buffer[i]
                if ASCII.isFieldVChar(b) {
                    i += 1
                    valueEnd = i
                } else if b == ASCII.space || b == ASCII.tab {
                    i += 1
                } else {
                    break
                }
            }
            if i == n { return incomplete() }
            let next: Int
            switch buffer[i] {
            case ASCII.cr:
                guard i + 1 < n else { return incomplete() }
                guard buffer[i + 1] == ASCII.lf else { return .failure(.bad("CR in field value")) }
                next = i + 2
            case ASCII.lf:
                next = i + 1
            default:
                return .failure(.bad("control character in field value"))
            }

            if next - start > maxBytes { return .failure(.fieldsTooLarge("header section too large")) }
            if count == limits.maxHeaderCount { return .failure(.fieldsTooLarge("too many header fields")) }
            if 4 * count == table.count { return .tableFull }
            // Offsets fit in 32 bits: a head is at most maxRequestLine + maxHeaderBytes long, and the server
            // never buffers more than that plus a body before parsing.
            table[4 * count] = UInt32(truncatingIfNeeded: nameStart)
            table[4 * count + 1] = UInt32(truncatingIfNeeded: nameEnd)
            table[4 * count + 2] = UInt32(truncatingIfNeeded: valueStart)
            table[4 * count + 3] = UInt32(truncatingIfNeeded: valueEnd)
            count += 1
            i = next
        }
    }
}
