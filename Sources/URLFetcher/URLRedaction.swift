//===----------------------------------------------------------------------===//
// ImageGate: keeping URL credentials out of the catalog, logs and error messages (Docs/protocols.md §4.1).
//===----------------------------------------------------------------------===//

import CCurl

/// Redaction of import URLs and of text that may quote them.
///
/// `ftp://user:secret@host/path?sig=abc#frag` becomes `ftp://user:***@host/path?***`: the user name stays
/// (it says which account was used), the password never appears, the query string is masked as a whole
/// (pre-signed mirror URLs carry their signature there) and the fragment is dropped (never sent anyway).
public enum URLRedaction {
    /// The redacted form of `url`. Works on text that is not a valid URL too (lexical fallback), so even a
    /// rejected URL can be logged safely.
    public static func redact(_ url: String) -> String {
        guard let parsed = try? CurlURL(url), let scheme = parsed.get(CURLUPART_SCHEME) else {
            // Unparseable: mask passwords, then drop everything from the first '?' or '#' wherever it is.
            let masked = lexical(url)
            guard let cut = masked.firstIndex(where: { $0 == "?" || $0 == "#" }) else { return masked }
            return masked[..<cut] + (masked[cut] == "?" ? "?***" : "")
        }
        var out = scheme + "://"
        if let user = parsed.get(CURLUPART_USER) {
            out += user
            if parsed.get(CURLUPART_PASSWORD) != nil { out += ":***" }
            out += "@"
        } else if parsed.get(CURLUPART_PASSWORD) != nil {
            out += ":***@"
        }
        out += parsed.get(CURLUPART_HOST) ?? ""
        if let port = parsed.get(CURLUPART_PORT) { out += ":" + port }
        out += parsed.get(CURLUPART_PATH) ?? ""
        if parsed.get(CURLUPART_QUERY) != nil { out += "?***" }
        return out
    }

    /// Replaces every occurrence of the given secrets (raw and percent-encoded) and of any
    /// `scheme://user:password@` in `message`. Applied to every message built from libcurl's error buffer:
    /// libcurl quotes URLs and server replies in some of them.
    static func scrub(_ message: String, secrets: [String]) -> String {
        var text = message
        for secret in secrets where !secret.isEmpty {
            let encoded = percentEncoded(secret)
            for form in [secret, encoded, encoded.lowercased()] {
                text = text.replacing(form, with: "***")
            }
        }
        return lexical(text)
    }

    /// Masks `password` in every `://user:password@` and every query string, without parsing.
    static func lexical(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let mark = rest.firstRange(of: "://") {
            out += rest[..<mark.upperBound]
            rest = rest[mark.upperBound...]
            let stops: Set<Character> = ["/", " ", "\"", "'", "<", ">", "\n", "#"]
            let authorityEnd = rest.firstIndex(where: { stops.contains($0) || $0 == "?" }) ?? rest.endIndex
            var authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                let user = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
                out += user + (userinfo.contains(":") ? ":***" : "") + "@"
                authority = authority[authority.index(after: at)...]
            }
            out += authority
            rest = rest[authorityEnd...]
            let pathEnd = rest.firstIndex(where: { stops.contains($0) && $0 != "/" }) ?? rest.endIndex
            let path = rest[..<pathEnd]
            if let q = path.firstIndex(of: "?") {
                out += path[..<q] + "?***"
            } else {
                out += path
            }
            rest = rest[pathEnd...]
            if rest.first == "#" {
                rest = rest.drop(while: { !stops.subtracting(["#"]).contains($0) })
            }
        }
        return out + rest
    }

    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if c.isASCII, c.isLetter || c.isNumber || "-._~".contains(c) {
                out.append(c)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
