//===----------------------------------------------------------------------===//
// ImageGate: value rules for the fields that frame or route a request (Host, Content-Length, lists)
//===----------------------------------------------------------------------===//

/// Validators for individual field values. Inputs are the OWS-trimmed value bytes.
enum FieldRules {
    /// Parses a `Content-Length` value (RFC 9110 §8.6: `1*DIGIT`).
    ///
    /// Only 1-19 ASCII digits are accepted: no sign, no inner whitespace, no list (`42, 42`), no decimals.
    /// 19 digits always fit in `UInt64` (max 9 999 999 999 999 999 999 < 2^64), so no overflow is possible; a
    /// 20-digit value is rejected even when it would fit (RFC 9110 §17.5: guard numbers against overflow).
    static func contentLength(_ value: UnsafeRawBufferPointer) -> UInt64? {
        guard !value.isEmpty, value.count <= 19 else { return nil }
        var result: UInt64 = 0
        for b in value {
            guard ASCII.isDigit(b) else { return nil }
            result = result &* 10 &+ UInt64(b &- 0x30)
        }
        return result
    }

    /// Validates a `Host` value: `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2).
    ///
    /// Accepts a reg-name (unreserved, sub-delims, pct-encoded) or an IPv6/IPvFuture literal in brackets,
    /// followed by an optional port of 1-5 digits. An empty value is rejected by policy: every URI the gateway
    /// serves is an `http(s)` URI, which always has a non-empty host (RFC 9110 §4.2.1).
    static func isValidHost(_ value: UnsafeRawBufferPointer) -> Bool {
        let n = value.count
        guard n > 0 else { return false }
        var i = 0
        if value[0] == ASCII.leftBracket {
            // IP-literal: hex digits, ':' and '.' (IPv4-embedded), or IPvFuture's 'v' and unreserved/sub-delims.
            i = 1
            while i < n, value[i] != ASCII.rightBracket {
                let b = value[i]
                guard ASCII.isRegNameByte(b) || b == ASCII.colon else { return false }
                i += 1
            }
            guard i < n, i > 1 else { return false }
            i += 1  // past ']'
        } else {
            while i < n, value[i] != ASCII.colon {
                let b = value[i]
                if b == ASCII.percent {
                    guard i + 2 < n, ASCII.hexValue(value[i + 1]) != nil, ASCII.hexValue(value[i + 2]) != nil else {
                        return false
                    }
                    i += 3
                    continue
                }
                guard ASCII.isRegNameByte(b) else { return false }
                i += 1
            }
            guard i > 0 else { return false }
        }
        if i == n { return true }
        guard value[i] == ASCII.colon else { return false }
        let digits = n - i - 1
        guard digits >= 1, digits <= 5 else { return false }
        for j in (i + 1)..<n where !ASCII.isDigit(value[j]) {
            return false
        }
        return true
    }

    /// True when the comma-separated list `value` holds `token` (ASCII case-insensitive, OWS around members
    /// ignored, empty members skipped; RFC 9110 §5.6.1). `token` must be lowercase ASCII.
    static func listContains(_ value: UnsafeRawBufferPointer, _ token: StaticString) -> Bool {
        let tokenBytes = UnsafeRawBufferPointer(start: token.utf8Start, count: token.utf8CodeUnitCount)
        let n = value.count
        var i = 0
        while i < n {
            while i < n, value[i] == ASCII.space || value[i] == ASCII.tab || value[i] == ASCII.comma { i += 1 }
            let start = i
            while i < n, value[i] != ASCII.comma { i += 1 }
            var end = i
            while end > start, value[end - 1] == ASCII.space || value[end - 1] == ASCII.tab { end -= 1 }
            if end - start == tokenBytes.count {
                var equal = true
                for k in 0..<tokenBytes.count where ASCII.lower(value[start + k]) != tokenBytes[k] {
                    equal = false
                    break
                }
                if equal { return true }
            }
        }
        return false
    }
}
