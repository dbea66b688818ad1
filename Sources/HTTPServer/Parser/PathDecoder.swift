//===----------------------------------------------------------------------===//
// ImageGate: safe percent-decoding of origin-form paths into segments
//===----------------------------------------------------------------------===//

/// Splits a request path into decoded segments without ever producing something a filesystem could
/// misinterpret (Docs/protocols.md §2.1 item 11, RFC 9110 §17.3). The gateway maps token → image id → blob path via the
/// catalog; segments are only compared, never joined into a path.
public enum PathDecoder {
    /// Splits an origin-form path on '/', then percent-decodes each segment exactly once.
    ///
    /// Splitting happens *before* decoding (RFC 3986 §2.4), so `%2F` can never create a new segment. Rejects
    /// (returns nil): a missing leading '/', empty segments (`a//b`, trailing '/'), invalid `%` escapes,
    /// `%00`, `%2F` / `%5C` and literal '\' inside a segment, `.` and `..` segments (literal or encoded),
    /// decoded bytes that are not valid UTF-8 (overlong forms such as `%c0%ae` and surrogates included), and
    /// control characters (C0, DEL, C1). The root path "/" yields no segments.
    ///
    /// - Parameter path: the still percent-encoded path, without query (``RequestHead/path``).
    /// - Returns: the decoded segments, or nil when the path must be refused (400 or 404 at the caller).
    public static func segments(_ path: String) -> [String]? {
        var path = path
        return path.withUTF8 { bytes -> [String]? in
            let n = bytes.count
            guard n > 0, bytes[0] == ASCII.slash else { return nil }
            if n == 1 { return [] }
            var result: [String] = []
            result.reserveCapacity(4)
            var scratch: [UInt8] = []
            var start = 1
            while start <= n {
                let end = ASCII.find(ASCII.slash, in: UnsafeRawBufferPointer(bytes), from: start, to: n)
                guard end > start else { return nil }  // empty segment, including a trailing '/'
                guard let segment = decodeSegment(UnsafeBufferPointer(rebasing: bytes[start..<end]), &scratch)
                else { return nil }
                result.append(segment)
                start = end + 1
            }
            return result
        }
    }

    /// Decodes one segment; nil when any rule of ``segments(_:)`` is broken.
    static func decodeSegment(_ raw: UnsafeBufferPointer<UInt8>, _ scratch: inout [UInt8]) -> String? {
        if let plain = plainSegment(raw) { return plain }
        scratch.removeAll(keepingCapacity: true)
        var i = 0
        while i < raw.count {
            var b = raw[i]
            if b == ASCII.percent {
                guard i + 2 < raw.count, let hi = ASCII.hexValue(raw[i + 1]), let lo = ASCII.hexValue(raw[i + 2])
                else { return nil }
                b = hi &<< 4 | lo
                // An encoded separator would smuggle a segment boundary past the split (CVE-2021-41773 style).
                if b == ASCII.slash { return nil }
                i += 3
            } else {
                i += 1
            }
            // NUL truncates C strings; other C0 controls and DEL have no business in a name.
            if b < 0x20 || b == 0x7F || b == ASCII.backslash { return nil }
            scratch.append(b)
        }
        // "." and ".." are dot-segments (RFC 3986 §5.2.4), whether written literally or as %2e.
        if scratch.count <= 2, scratch.allSatisfy({ $0 == ASCII.dot }) { return nil }
        // Strict UTF-8: the stdlib decoder rejects overlong encodings (%c0%ae), surrogates and truncation.
        guard let text = String(validating: scratch, as: UTF8.self) else { return nil }
        // C1 controls (U+0080-U+009F) are as unwelcome as C0 ones.
        for scalar in text.unicodeScalars where scalar.value >= 0x80 && scalar.value <= 0x9F {
            return nil
        }
        return text
    }

    /// The common case (a token, `d`, an ASCII file name): no `%`, only printable ASCII other than `\`, not a
    /// dot-segment. Such bytes decode to themselves, so the String is made from them directly, without the
    /// scratch copy and UTF-8 validation pass; anything else returns nil and takes the full path.
    /// The bytes are tested without an early exit (one flag or-ed over the segment, which the compiler turns into
    /// vector code): a token segment is 175 bytes, and a per-byte branch chain was most of the decoder's cost
    /// (issue 17).
    @inline(__always)
    static func plainSegment(_ raw: UnsafeBufferPointer<UInt8>) -> String? {
        var bad: UInt8 = 0
        for b in raw {
            // 0x21...0x7E in one unsigned comparison, then the two excluded bytes.
            bad |= (b &- 0x21 > 0x5D ? 1 : 0) | (b == ASCII.percent ? 1 : 0) | (b == ASCII.backslash ? 1 : 0)
        }
        if bad != 0 { return nil }
        if raw.count <= 2, raw.allSatisfy({ $0 == ASCII.dot }) { return nil }
        return String(decoding: raw, as: UTF8.self)
    }
}
