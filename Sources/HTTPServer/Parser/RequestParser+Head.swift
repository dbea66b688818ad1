//===----------------------------------------------------------------------===//
// ImageGate: request-target forms and the semantic checks that turn scanned offsets into a RequestHead
//===----------------------------------------------------------------------===//

extension RequestParser {
    /// Path and query offsets of a request-target.
    struct TargetParts {
        /// nil stands for "/" (an absolute-form target with an empty path, RFC 9112 §3.2.2 / RFC 9110 §4.2.3).
        var path: Range<Int>?
        var query: Range<Int>?
    }

    /// Splits a request-target into path and query (RFC 9112 §3.2).
    ///
    /// - origin-form (`/path?query`) is the normal case.
    /// - absolute-form (`http://authority/path?query`, scheme case-insensitive) MUST be accepted by servers
    ///   (RFC 9112 §3.2.2); its authority must be a valid host and is then dropped. Only `http` and `https`
    ///   schemes are accepted: the gateway is not a proxy.
    /// - authority-form (`host:port`, CONNECT) and asterisk-form (`*`, OPTIONS) → 400 by policy; the gateway
    ///   serves neither tunnels nor server-wide OPTIONS.
    static func targetParts(
        _ buffer: UnsafeRawBufferPointer, _ target: Range<Int>
    ) -> Result<TargetParts, HTTPParseError> {
        let first = buffer[target.lowerBound]
        if first == ASCII.slash { return .success(splitQuery(buffer, target)) }
        if first == ASCII.star { return .failure(.bad("asterisk-form target not supported")) }

        let bytes = UnsafeRawBufferPointer(rebasing: buffer[target])
        let schemeLength: Int
        if hasPrefixIgnoringCase(bytes, "http://") {
            schemeLength = 7
        } else if hasPrefixIgnoringCase(bytes, "https://") {
            schemeLength = 8
        } else {
            return .failure(.bad("unsupported request target form"))
        }
        var i = target.lowerBound + schemeLength
        let authorityStart = i
        while i < target.upperBound, buffer[i] != ASCII.slash, buffer[i] != ASCII.question { i += 1 }
        // Userinfo ('@') is not a host byte, so it is rejected here too (RFC 9110 §4.2.4).
        guard FieldRules.isValidHost(UnsafeRawBufferPointer(rebasing: buffer[authorityStart..<i])) else {
            return .failure(.bad("invalid authority in request target"))
        }
        if i == target.upperBound { return .success(TargetParts(path: nil, query: nil)) }
        if buffer[i] == ASCII.question {
            return .success(TargetParts(path: nil, query: (i + 1)..<target.upperBound))
        }
        return .success(splitQuery(buffer, i..<target.upperBound))
    }

    /// Splits `/path?query` at the first '?'.
    static func splitQuery(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> TargetParts {
        let i = ASCII.find(ASCII.question, in: buffer, from: range.lowerBound, to: range.upperBound)
        if i == range.upperBound { return TargetParts(path: range, query: nil) }
        return TargetParts(path: range.lowerBound..<i, query: (i + 1)..<range.upperBound)
    }

    /// ASCII case-insensitive prefix test against a lowercase literal.
    static func hasPrefixIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let l = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard bytes.count >= l.count else { return false }
        for k in 0..<l.count where ASCII.lower(bytes[k]) != l[k] {
            return false
        }
        return true
    }

    /// Applies the field semantics and builds the head (its bytes and field table in one array), once the head
    /// is complete.
    ///
    /// - Host (RFC 9112 §3.2): at most one, valid syntax, required on HTTP/1.1 — even with an absolute-form
    ///   target, whose authority then wins.
    /// - Transfer-Encoding (RFC 9112 §6.1): any occurrence → 400. The gateway never accepts chunked request
    ///   bodies, and refusing TE outright removes every CL.TE / TE.CL / TE.TE smuggling variant.
    /// - Content-Length (RFC 9112 §6.3, RFC 9110 §8.6): exactly one field, 1-19 digits; duplicates → 400 even
    ///   when equal, lists and signs → 400.
    /// - Connection (RFC 9112 §9.3): comma list, case-insensitive `close` / `keep-alive` tokens.
    /// - Expect (RFC 9110 §10.1.1): `100-continue` honoured on HTTP/1.1 only; other expectations are left to
    ///   the server (it may answer 417).
    ///
    /// `end` is where the head ends (after the empty line); `table` holds four offsets per field.
    func makeHead(
        _ buffer: UnsafeRawBufferPointer, end: Int, line: RequestLine, table: UnsafeBufferPointer<UInt32>
    ) -> Result<RequestHead, HTTPParseError> {
        var hostCount = 0
        var contentLengthCount = 0
        var contentLength: UInt64 = 0
        var connectionClose = false
        var connectionKeepAlive = false
        var expectContinue = false
        let fieldCount = table.count / 4

        for k in 0..<fieldCount {
            let name = UnsafeRawBufferPointer(rebasing: buffer[Int(table[4 * k])..<Int(table[4 * k + 1])])
            let value = UnsafeRawBufferPointer(rebasing: buffer[Int(table[4 * k + 2])..<Int(table[4 * k + 3])])
            // Only five names matter here; the length decides which one a name can be.
            switch name.count {
            case 4 where Self.equalsIgnoringCase(name, "host"):
                hostCount += 1
                guard hostCount == 1 else { return .failure(.bad("duplicate Host")) }
                guard FieldRules.isValidHost(value) else { return .failure(.bad("invalid Host")) }
            case 14 where Self.equalsIgnoringCase(name, "content-length"):
                contentLengthCount += 1
                guard contentLengthCount == 1 else { return .failure(.bad("duplicate Content-Length")) }
                guard let parsed = FieldRules.contentLength(value) else {
                    return .failure(.bad("invalid Content-Length"))
                }
                contentLength = parsed
            case 17 where Self.equalsIgnoringCase(name, "transfer-encoding"):
                return .failure(.bad("Transfer-Encoding not accepted"))
            case 10 where Self.equalsIgnoringCase(name, "connection"):
                if FieldRules.listContains(value, "close") { connectionClose = true }
                if FieldRules.listContains(value, "keep-alive") { connectionKeepAlive = true }
            case 6 where Self.equalsIgnoringCase(name, "expect"):
                if FieldRules.listContains(value, "100-continue") { expectContinue = true }
            default:
                break
            }
        }

        if line.version == .http11, hostCount == 0 { return .failure(.bad("missing Host")) }

        if !limits.allowBodyOnGetOrHead, contentLength > 0, line.methodName == "GET" || line.methodName == "HEAD" {
            return .failure(.bad("body not allowed on GET or HEAD"))
        }

        let keepAlive: Bool
        switch line.version {
        case .http11: keepAlive = !connectionClose
        case .http10: keepAlive = connectionKeepAlive && !connectionClose
        }

        // One array: the head's bytes, zero padding to a 4-byte boundary, the field table (little-endian).
        let tableStart = (end + 3) & ~3
        let total = tableStart + 4 * table.count
        let storage = [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            let base = UnsafeMutableRawPointer(out.baseAddress!)
            base.copyMemory(from: buffer.baseAddress!, byteCount: end)
            (base + end).initializeMemory(as: UInt8.self, repeating: 0, count: tableStart - end)
            for k in 0..<table.count {
                (base + tableStart + 4 * k).storeBytes(of: table[k].littleEndian, as: UInt32.self)
            }
            initialized = total
        }
        let head = RequestHead(
            storage: storage, table: tableStart, fieldCount: fieldCount, method: line.methodName,
            target: line.target, path: line.path, query: line.query, version: line.version, keepAlive: keepAlive,
            contentLength: contentLength, expectsContinue: expectContinue && line.version == .http11)
        return .success(head)
    }

    /// ASCII case-insensitive equality with a lowercase literal of the same length.
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let l = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard l.count == bytes.count else { return false }
        for k in 0..<l.count where ASCII.lower(bytes[k]) != l[k] {
            return false
        }
        return true
    }

    /// Lowercases an ASCII token straight into a new String's storage (no per-byte appends).
    static func lowercasedString(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count) { storage in
            for k in 0..<bytes.count {
                storage[k] = ASCII.lower(bytes[k])
            }
            return bytes.count
        }
    }
}
