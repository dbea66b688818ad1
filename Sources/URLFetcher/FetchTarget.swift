//===----------------------------------------------------------------------===//
// ImageGate: parsing and static validation of an import URL or redirect target (Docs/protocols.md §4.1).
//===----------------------------------------------------------------------===//

import CCurl

/// A URL that passed every check that needs no network: scheme, userinfo, host syntax, port.
/// The address checks happen later, per connection (`HostResolver`, `DestinationCheck`).
struct FetchTarget: Sendable, Equatable {
    /// Lower-case scheme: http, https or ftp.
    let scheme: String
    /// The host as libcurl will use it: a lower-case name, a normalised IPv4 literal (libcurl rewrites
    /// `2130706433`, `0177.0.0.1`, `127.1`, `0x7f.1` to `127.0.0.1`) or a bracketed IPv6 literal.
    let host: String
    let port: UInt16
    /// FTP account, percent-decoded; passed to libcurl as CURLOPT_USERNAME/PASSWORD, never inside the URL.
    let user: String?
    let password: String?
    /// The URL given to libcurl: no userinfo, no fragment.
    let curlURL: String
    /// For messages, the catalog and logs.
    let redacted: String

    /// The host without IPv6 brackets, for getaddrinfo and CURLOPT_RESOLVE.
    var lookupName: String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    /// Secrets to scrub from any text libcurl produces for this target.
    var secrets: [String] { [password].compactMap { $0 } }

    static let implementedSchemes: Set<String> = ["http", "https", "ftp"]
    static let defaultPorts: [String: UInt16] = ["http": 80, "https": 443, "ftp": 21]

    /// Parses and validates `text` (Docs/protocols.md §4.1 "parse once with one parser").
    static func parse(_ text: String, policy: FetchPolicy) throws(FetchFailure) -> FetchTarget {
        let redacted = URLRedaction.redact(text)
        guard text.utf8.count <= 8192 else { throw .badURL("URL longer than 8192 bytes") }
        // Raw bytes must be printable ASCII: a non-ASCII host is an IDNA homograph / normalisation hazard
        // (Docs/protocols.md §4.1) and non-ASCII elsewhere must be percent-encoded anyway.
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badURL("URL must be printable ASCII without spaces (hosts in punycode): \(redacted)")
        }
        // RFC 3986 §3.1 scheme, read before parsing so "data:…" or "mailto:…" (no authority, which libcurl
        // would call malformed) is reported as the scheme being refused.
        if let colon = text.firstIndex(of: ":") {
            let lexicalScheme = text[..<colon].lowercased()
            let valid =
                lexicalScheme.first?.isLetter == true
                && lexicalScheme.allSatisfy { $0.isLetter || $0.isNumber || "+-.".contains($0) }
            if valid, !(implementedSchemes.contains(lexicalScheme) && policy.schemes.contains(lexicalScheme)) {
                throw FetchFailure(
                    code: "scheme_not_allowed", message: "scheme '\(lexicalScheme)' is not allowed: \(redacted)")
            }
        }
        let parsed = try CurlURL(text)
        let scheme = (parsed.get(CURLUPART_SCHEME) ?? "").lowercased()
        guard implementedSchemes.contains(scheme), policy.schemes.contains(scheme) else {
            throw FetchFailure(
                code: "scheme_not_allowed", message: "scheme '\(scheme)' is not allowed: \(redacted)")
        }
        guard let rawHost = parsed.get(CURLUPART_HOST), !rawHost.isEmpty else {
            throw .badURL("URL has no host: \(redacted)")
        }
        let host = rawHost.lowercased()
        guard parsed.get(CURLUPART_ZONEID) == nil else { throw .badURL("IPv6 zone ids are not accepted: \(redacted)") }
        try checkHostSyntax(host, redacted: redacted)

        let user = parsed.get(CURLUPART_USER, decode: true)
        let password = parsed.get(CURLUPART_PASSWORD, decode: true)
        if scheme != "ftp", user != nil || password != nil {
            // "https://good.example@evil.example/" reads as good.example to people (Docs/protocols.md §4.1).
            throw .badURL("credentials (userinfo) are not accepted in \(scheme) URLs: \(redacted)")
        }
        guard parsed.get(CURLUPART_OPTIONS) == nil else { throw .badURL("login options are not accepted: \(redacted)") }

        guard let portText = parsed.get(CURLUPART_PORT, defaultPort: true), let port = UInt16(portText), port != 0
        else { throw .badURL("invalid port: \(redacted)") }
        if let allowed = policy.allowedPorts, !allowed.contains(port) {
            throw FetchFailure(code: "port_not_allowed", message: "port \(port) is not allowed: \(redacted)")
        }

        if scheme == "ftp" {
            let path = parsed.get(CURLUPART_PATH) ?? "/"
            // A trailing slash makes libcurl LIST the directory; ";type=a" switches it to ASCII mode, which
            // rewrites line endings and corrupts a binary image (RFC 1738 §3.2.2 typecode).
            guard !path.hasSuffix("/") else { throw .badURL("FTP URL names a directory, not a file: \(redacted)") }
            guard !path.lowercased().contains(";type=") else {
                throw .badURL("FTP ;type= is not accepted (images are binary): \(redacted)")
            }
        }
        parsed.clear(CURLUPART_USER)
        parsed.clear(CURLUPART_PASSWORD)
        parsed.clear(CURLUPART_FRAGMENT)
        guard let curlURL = parsed.get(CURLUPART_URL) else { throw .badURL("URL cannot be rebuilt: \(redacted)") }
        return FetchTarget(
            scheme: scheme, host: host, port: port, user: user, password: password, curlURL: curlURL,
            redacted: redacted)
    }

    /// Host names: LDH labels (plus `_`, seen in real DNS). IPv6 literals: what inet_pton accepts.
    private static func checkHostSyntax(_ host: String, redacted: String) throws(FetchFailure) {
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), IPAddressText.parse(String(host.dropFirst().dropLast()))?.count == 16 else {
                throw .badURL("invalid IPv6 literal: \(redacted)")
            }
            return
        }
        let ok = host.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2E || c == 0x5F
        }
        guard ok, host.utf8.count <= 253 else { throw .badURL("invalid host name: \(redacted)") }
    }

    /// The target of a redirect from `self` (Docs/protocols.md §4.1 "Redirects"): re-parsed and re-validated like
    /// a new URL; https → anything but https is a downgrade and refused. Credentials never carry over: FTP
    /// (the only scheme with credentials) does not redirect, so a hop's credentials are only those its own
    /// Location names — none of the user's are sent to another origin.
    func redirect(to location: String, policy: FetchPolicy) throws(FetchFailure) -> FetchTarget {
        let next = try FetchTarget.parse(location, policy: policy)
        if scheme == "https", next.scheme != "https" {
            throw FetchFailure(
                code: "insecure_redirect", message: "redirect from https to \(next.scheme) refused: \(next.redacted)")
        }
        return next
    }
}
