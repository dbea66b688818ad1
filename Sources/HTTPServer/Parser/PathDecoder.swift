//===----------------------------------------------------------------------===//
// ImageGate: safe percent-decoding of origin-form paths into segments
//===----------------------------------------------------------------------===//

/// Splits a request path into decoded segments without ever producing something a filesystem could
/// misinterpret (Docs/protocols.md §2.1 item 11, RFC 9110 §17.3). The gateway maps token → image id → blob path via the
/// catalog; segments are only compared, never joined into a path.
///
/// Splitting happens *before* decoding (RFC 3986 §2.4), so `%2F` can never create a new segment. A path is
/// refused (nil) for: a missing leading '/', empty segments (`a//b`, trailing '/'), invalid `%` escapes,
/// `%00`, `%2F` / `%5C` and literal '\' inside a segment, `.` and `..` segments (literal or encoded),
/// decoded bytes that are not valid UTF-8 (overlong forms such as `%c0%ae` and surrogates included), and
/// control characters (C0, DEL, C1). The root path "/" yields no segments.
public enum PathDecoder {
    /// The decoded segments of one path, valid only inside the closure given to ``withSegments(_:_:)``: the
    /// decoded bytes of every segment back to back and where each ends, both in temporary memory.
    public struct Segments {
        let bytes: UnsafeMutableRawBufferPointer
        let ends: UnsafeMutableBufferPointer<Int>
        public let count: Int

        /// The decoded bytes of segment `k` (strict UTF-8, no controls).
        public subscript(k: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: bytes[(k == 0 ? 0 : ends[k - 1])..<ends[k]])
        }

        /// Whether segment `k` is exactly `literal`.
        public func equals(_ k: Int, _ literal: StaticString) -> Bool {
            RequestParser.equals(self[k], literal)
        }

        /// Whether segment `k` is exactly the UTF-8 of `text`.
        public func equals(_ k: Int, _ text: String) -> Bool {
            var text = text
            return text.withUTF8 { self[k].elementsEqual($0) }
        }

        /// Segment `k` as a String.
        public func string(_ k: Int) -> String { String(decoding: self[k], as: UTF8.self) }
    }

    /// Splits an origin-form path on '/', percent-decodes each segment exactly once into temporary memory and
    /// calls `body` with the segments, or with nil when the path must be refused (400 or 404 at the caller).
    /// No heap allocation for a path of up to about 250 bytes (a download link's is about 190): the decoded bytes
    /// are never longer than the path, and both buffers stay within the 1 KiB the standard library puts on the
    /// stack without asking the thread's stack size.
    @inlinable
    public static func withSegments<R>(_ path: UnsafeRawBufferPointer, _ body: (Segments?) -> R) -> R {
        // Inlinable so that the download handler (another module) gets it specialized: unspecialized, the two
        // temporary allocations looked up type metadata on every call.
        withUnsafeTemporaryAllocation(byteCount: path.count, alignment: 1) { out in
            // Every segment takes at least two bytes of the path ('/' and one byte).
            withUnsafeTemporaryAllocation(of: Int.self, capacity: path.count / 2 + 1) { ends in
                body(split(path, into: out, ends: ends))
            }
        }
    }

    /// The work of ``withSegments(_:_:)``: decodes into `out`, segment ends into `ends`.
    @usableFromInline
    static func split(
        _ path: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, ends: UnsafeMutableBufferPointer<Int>
    ) -> Segments? {
        let n = path.count
        guard n > 0, path[0] == ASCII.slash else { return nil }
        var count = 0
        var written = 0
        var start = 1
        while n > 1, start <= n {
            let end = ASCII.find(ASCII.slash, in: path, from: start, to: n)
            // empty segment, including a trailing '/'
            guard end > start else { return nil }
            let raw = UnsafeRawBufferPointer(rebasing: path[start..<end])
            guard let length = decodeSegment(raw, into: UnsafeMutableRawBufferPointer(rebasing: out[written...]))
            else { return nil }
            written += length
            ends[count] = written
            count += 1
            start = end + 1
        }
        return Segments(bytes: out, ends: ends, count: count)
    }

    /// Splits an origin-form path into decoded segments as Strings (see ``withSegments(_:_:)``).
    ///
    /// - Parameter path: the still percent-encoded path, without query (``RequestHead/path``).
    /// - Returns: the decoded segments, or nil when the path must be refused (400 or 404 at the caller).
    public static func segments(_ path: String) -> [String]? {
        var path = path
        return path.withUTF8 { bytes in
            withSegments(UnsafeRawBufferPointer(bytes)) { segments in
                segments.map { s in (0..<s.count).map { s.string($0) } }
            }
        }
    }

    /// Decodes one segment into `out`; returns the decoded length, or nil when any rule of the type's comment
    /// is broken.
    static func decodeSegment(_ raw: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        if isPlain(raw) {
            out.baseAddress!.copyMemory(from: raw.baseAddress!, byteCount: raw.count)
            return raw.count
        }
        var length = 0
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
            out[length] = b
            length += 1
        }
        let decoded = UnsafeRawBufferPointer(rebasing: out[0..<length])
        // "." and ".." are dot-segments (RFC 3986 §5.2.4), whether written literally or as %2e.
        if length <= 2, decoded.allSatisfy({ $0 == ASCII.dot }) { return nil }
        // Strict UTF-8: the stdlib decoder rejects overlong encodings (%c0%ae), surrogates and truncation.
        // C1 controls (U+0080-U+009F) are as unwelcome as C0 ones.
        var iterator = decoded.makeIterator()
        var utf8 = UTF8()
        while true {
            switch utf8.decode(&iterator) {
            case .scalarValue(let scalar):
                if scalar.value >= 0x80 && scalar.value <= 0x9F { return nil }
            case .emptyInput:
                return length
            case .error:
                return nil
            }
        }
    }

    /// The common case (a token, `d`, an ASCII file name): no `%`, only printable ASCII other than `\`, not a
    /// dot-segment. Such bytes decode to themselves and are valid UTF-8 without a check.
    /// The bytes are tested without an early exit (one flag or-ed over the segment, which the compiler turns into
    /// vector code): a token segment is 175 bytes, and a per-byte branch chain was most of the decoder's cost
    /// (issue 17).
    @inline(__always)
    static func isPlain(_ raw: UnsafeRawBufferPointer) -> Bool {
        var bad: UInt8 = 0
        for b in raw {
            // 0x21...0x7E in one unsigned comparison, then the two excluded bytes.
            bad |= (b &- 0x21 > 0x5D ? 1 : 0) | (b == ASCII.percent ? 1 : 0) | (b == ASCII.backslash ? 1 : 0)
        }
        if bad != 0 { return false }
        return !(raw.count <= 2 && raw.allSatisfy({ $0 == ASCII.dot }))
    }
}
