//===----------------------------------------------------------------------===//
// ImageGate: conditional request evaluation (RFC 9110 §13): If-Match, If-None-Match, dates and If-Range.
//===----------------------------------------------------------------------===//

import GateCore

/// Strong validators of the served representation.
public struct Validators: Sendable, Equatable {
    /// Complete quoted strong entity-tag, e.g. `"img-...-1-abcd"` (quotes included, no `W/`).
    public var etag: String
    /// Last-Modified as unix seconds.
    public var lastModified: Int64
    /// The response Date (now) as unix seconds; decides whether Last-Modified is a strong validator.
    public var date: Int64

    public init(etag: String, lastModified: Int64, date: Int64) {
        self.etag = etag
        self.lastModified = lastModified
        self.date = date
    }

    /// RFC 9110 §8.8.2.2: a Last-Modified at least one second before Date is treated as strong (the file cannot
    /// have changed twice within the same second after Date was taken).
    public var lastModifiedIsStrong: Bool { date > lastModified }
}

/// What RFC 9110 §13.2.2 steps 1-4 decided.
public enum PreconditionOutcome: Equatable, Sendable {
    /// Go on to Range evaluation (step 5).
    case proceed
    /// 304 Not Modified (GET/HEAD only); Range is not evaluated.
    case notModified
    /// 412 Precondition Failed; Range is not evaluated.
    case preconditionFailed
}

/// Conditional request evaluation for a single existing representation.
public enum Preconditions {
    /// RFC 9110 §13.2.2 steps 1-4 for GET/HEAD (isGetOrHead true) or other methods: If-Match (strong compare,
    /// "*" matches), If-Unmodified-Since (only when If-Match absent), If-None-Match (weak compare; GET/HEAD → 304,
    /// others → 412), If-Modified-Since (only GET/HEAD and only when If-None-Match absent; unparseable dates
    /// ignored).
    ///
    /// A malformed entity-tag list counts as "no tag matches": If-Match then fails (412), If-None-Match passes.
    /// Only IMF-fixdate is parsed; other date forms are ignored as §13.1.3/§13.1.4 require for invalid dates.
    public static func evaluate(
        isGetOrHead: Bool,
        ifMatch: String?,
        ifNoneMatch: String?,
        ifModifiedSince: String?,
        ifUnmodifiedSince: String?,
        validators: Validators
    ) -> PreconditionOutcome {
        // Step 1: If-Match. The representation exists, so "*" is true (§13.1.1).
        if let ifMatch {
            switch EntityTag.listMatches(ifMatch, current: validators.etag, weakComparison: false) {
            case .any, .matched: break
            case .notMatched, .malformed: return .preconditionFailed
            }
        } else if let ifUnmodifiedSince, let since = parseDate(ifUnmodifiedSince),
            validators.lastModified > since
        {
            // Step 2: If-Unmodified-Since is false when the representation changed after the given date.
            return .preconditionFailed
        }

        // Step 3: If-None-Match uses weak comparison (§13.1.2).
        if let ifNoneMatch {
            switch EntityTag.listMatches(ifNoneMatch, current: validators.etag, weakComparison: true) {
            case .any, .matched: return isGetOrHead ? .notModified : .preconditionFailed
            case .notMatched, .malformed: break
            }
        } else if isGetOrHead, let ifModifiedSince, let since = parseDate(ifModifiedSince),
            validators.lastModified <= since
        {
            // Step 4: not modified since the given date.
            return .notModified
        }
        return .proceed
    }

    /// RFC 9110 §13.1.5: true if Range may be honoured. nil ifRange → true. Entity-tag form: strong comparison
    /// only (weak W/"..." never matches). HTTP-date form: matches only if it equals lastModified exactly AND
    /// lastModified is a strong validator (date - lastModified >= 1). Anything unparseable → false.
    ///
    /// The caller should only consult this when a Range header is present (§13.1.5: ignore If-Range without
    /// Range); false means "serve 200 with the full representation".
    public static func ifRangeAllows(_ ifRange: String?, validators: Validators) -> Bool {
        guard let ifRange else { return true }
        let trimmed = trimOWS(ifRange)
        // An entity-tag starts with DQUOTE or "W/"; an IMF-fixdate starts with a day name.
        if trimmed.hasPrefix("\"") || trimmed.hasPrefix("W/") {
            return EntityTag.strongMatch(trimmed, current: validators.etag)
        }
        guard let date = TimeFormat.parseHTTPDate(trimmed) else { return false }
        return date == validators.lastModified && validators.lastModifiedIsStrong
    }

    /// An HTTP-date field value with surrounding OWS removed, or nil if it is not an IMF-fixdate.
    private static func parseDate(_ value: String) -> Int64? {
        TimeFormat.parseHTTPDate(trimOWS(value))
    }

    /// Removes leading and trailing SP/HTAB (RFC 9110 §5.5); returns the input itself when there is none.
    static func trimOWS(_ value: String) -> String {
        let utf8 = value.utf8
        func isOWS(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
        guard let first = utf8.first, let last = utf8.last, isOWS(first) || isOWS(last) else { return value }
        guard let start = utf8.firstIndex(where: { !isOWS($0) }), let end = utf8.lastIndex(where: { !isOWS($0) })
        else { return "" }
        // The bounds sit on ASCII bytes or right after the last non-OWS byte, so decoding never splits a scalar.
        return String(decoding: utf8[start..<utf8.index(after: end)], as: UTF8.self)
    }
}
