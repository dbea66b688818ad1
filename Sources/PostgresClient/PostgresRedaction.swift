//===----------------------------------------------------------------------===//
// ImageGate: keeping a catalog password out of logs and errors.
//===----------------------------------------------------------------------===//

/// Removes PostgreSQL passwords from text that is about to be logged or shown.
public enum PostgresRedaction {
    /// Replaces the password of every `postgres://` / `postgresql://` URL in `text` with `***`. For free text
    /// that may quote a URL a user typed (a config line, a command line); a parsed `PostgresURL` prints itself
    /// redacted already.
    public static func redactingURLs(in text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let schemeEnd = nextURL(in: rest) {
            out += rest[..<schemeEnd]
            let afterScheme = rest[schemeEnd...]
            // The authority ends at the first "/", "?", "#" or white space; its userinfo at the last "@" in it.
            let authorityEnd = afterScheme.firstIndex { "/?# \t\r\n\"'".contains($0) } ?? afterScheme.endIndex
            let authority = afterScheme[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out += authority[...colon]
                out += "***"
                out += authority[at...]
            } else {
                out += authority
            }
            rest = afterScheme[authorityEnd...]
        }
        out += rest
        return out
    }

    /// Replaces every occurrence of `secret` in `text` with `***`. libpq does not put the password in its
    /// messages today; this keeps it that way whatever a future libpq or server says.
    static func scrub(_ text: String, secret: String?) -> String {
        guard let secret, !secret.isEmpty else { return text }
        var out = ""
        var rest = Substring(text)
        while let r = rest.firstRange(of: secret) {
            out += rest[..<r.lowerBound]
            out += "***"
            rest = rest[r.upperBound...]
        }
        out += rest
        return out
    }

    /// Where the first postgres URL's scheme ends ("postgres://" is not a prefix of "postgresql://").
    private static func nextURL(in s: Substring) -> Substring.Index? {
        let candidates = ["postgres://", "postgresql://"].compactMap { s.firstRange(of: $0) }
        return candidates.min(by: { $0.lowerBound < $1.lowerBound })?.upperBound
    }
}
