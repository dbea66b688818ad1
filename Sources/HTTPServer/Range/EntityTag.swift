//===----------------------------------------------------------------------===//
// ImageGate: entity-tag parsing and comparison for If-Match, If-None-Match and If-Range (RFC 9110 §8.8.3).
//===----------------------------------------------------------------------===//

/// Byte-level entity-tag helpers. `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE`, where
/// `etagc = %x21 / %x23-7E / obs-text` (RFC 9110 §8.8.3); `W/` is case-sensitive.
enum EntityTag {
    /// How an `If-Match` / `If-None-Match` field value relates to the current entity-tag.
    enum ListMatch: Equatable {
        /// The field value is exactly `*`.
        case any
        /// A listed tag matches under the requested comparison.
        case matched
        /// A well-formed list in which no tag matches (an empty list included).
        case notMatched
        /// Not a `*` nor a well-formed `#entity-tag` list; callers treat it as "does not match".
        case malformed
    }

    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")

    /// Scans one entity-tag at `index`, advancing past it. Returns the weak flag and the opaque-tag bounds
    /// (quotes included), or nil if the bytes there are not an entity-tag.
    static func scan(_ b: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> (weak: Bool, opaque: Range<Int>)? {
        var i = index
        var weak = false
        if i + 1 < b.count, b[i] == UInt8(ascii: "W"), b[i + 1] == UInt8(ascii: "/") {
            weak = true
            i += 2
        }
        guard i < b.count, b[i] == quote else { return nil }
        let start = i
        i += 1
        while i < b.count, b[i] != quote {
            // etagc excludes controls, SP and DEL; obs-text (>= 0x80) is allowed.
            guard b[i] >= 0x21, b[i] != 0x7F else { return nil }
            i += 1
        }
        guard i < b.count else { return nil }  // unterminated
        i += 1
        index = i
        return (weak, start..<i)
    }

    /// Parses a field value that must be exactly one entity-tag, surrounding OWS allowed.
    static func single(_ b: UnsafeBufferPointer<UInt8>) -> (weak: Bool, opaque: Range<Int>)? {
        var i = skipOWS(b, 0)
        guard let tag = scan(b, &i), skipOWS(b, i) == b.count else { return nil }
        return tag
    }

    static func skipOWS(_ b: UnsafeBufferPointer<UInt8>, _ from: Int) -> Int {
        var i = from
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
        return i
    }

    /// True if `field` is a single strong entity-tag equal to the strong tag `current` (RFC 9110 §8.8.3.2
    /// strong comparison, as required for If-Range by §13.1.5).
    static func strongMatch(_ field: String, current: String) -> Bool {
        var field = field
        var current = current
        return field.withUTF8 { f in
            current.withUTF8 { c in
                guard let mine = single(c), !mine.weak, let theirs = single(f), !theirs.weak else { return false }
                return f[theirs.opaque].elementsEqual(c[mine.opaque])
            }
        }
    }

    /// Evaluates an `If-Match` (`weak == false`) or `If-None-Match` (`weak == true`) field value against
    /// `current` (RFC 9110 §13.1.1, §13.1.2). The whole list is parsed so the answer never depends on where a
    /// syntax error sits; empty list elements are skipped (§5.6.1).
    static func listMatches(_ field: String, current: String, weakComparison: Bool) -> ListMatch {
        var field = field
        var current = current
        return field.withUTF8 { f in
            current.withUTF8 { c in
                let start = skipOWS(f, 0)
                var end = f.count
                while end > start, f[end - 1] == 0x20 || f[end - 1] == 0x09 { end -= 1 }
                if end - start == 1, f[start] == UInt8(ascii: "*") { return .any }

                // Our own tag should always be strong and well-formed; if not, nothing can match it.
                let mine = single(c)
                var matched = false
                var i = start
                while true {
                    i = skipOWS(f, i)
                    guard i < f.count else { break }
                    if f[i] == comma {
                        i += 1
                        continue
                    }
                    guard let theirs = scan(f, &i) else { return .malformed }
                    if let mine, weakComparison || (!mine.weak && !theirs.weak),
                        f[theirs.opaque].elementsEqual(c[mine.opaque])
                    {
                        matched = true
                    }
                    i = skipOWS(f, i)
                    guard i < f.count else { break }
                    guard f[i] == comma else { return .malformed }
                    i += 1
                }
                return matched ? .matched : .notMatched
            }
        }
    }
}
