//===----------------------------------------------------------------------===//
// ImageGate: the catalog URL `postgres://USER:PASS@HOST:PORT/DB?sslmode=…`, parsed; printed without password.
//===----------------------------------------------------------------------===//

/// Where a PostgreSQL catalog lives, parsed from a URL (libpq's URI form, the subset ImageGate documents in
/// `Docs/deployment.md`). User, password, host and database are percent-decoded (RFC 3986 §2.1), so a password
/// holding `@`, `:` or `/` is written `%40`, `%3A`, `%2F`.
///
/// The password is only readable inside this module (to hand it to libpq). `description` and `redacted` print
/// `***` in its place, so interpolating a URL into a log line or an error never leaks it.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    /// libpq's `sslmode` values (https://www.postgresql.org/docs/15/libpq-ssl.html, table 34.1).
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public let user: String
    let password: String?
    /// A host name, an IPv4/IPv6 address (without brackets), or an absolute Unix-socket directory.
    public let host: String
    public let port: Int
    public private(set) var database: String
    public let sslMode: SSLMode
    /// Seconds libpq waits for a connection to be made (`connect_timeout`); nil leaves libpq's default (forever).
    public let connectTimeout: Int?
    public let applicationName: String?

    public var hasPassword: Bool { password != nil }

    /// The query parameters the URL may carry; anything else is refused, like an unknown config key.
    static let knownParameters: Set<String> = ["sslmode", "connect_timeout", "application_name"]

    /// Parses `postgres://` or `postgresql://` URLs. Defaults: port 5432, database = user, sslmode `prefer`
    /// (libpq's default). Errors name the problem and never repeat the URL, which may hold a password.
    public init(_ text: String) throws(PostgresError) {
        let scheme: Substring
        let rest: Substring
        if let r = text.firstRange(of: "://") {
            scheme = text[..<r.lowerBound]
            rest = text[r.upperBound...]
        } else {
            throw .invalidURL("expected postgres://USER:PASS@HOST:PORT/DB")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw .invalidURL("scheme must be postgres:// or postgresql://")
        }
        // authority [/ path] [? query]; a fragment has no meaning here.
        guard !rest.contains("#") else { throw .invalidURL("a fragment (#…) is not allowed") }
        let (beforeQuery, query) = Self.split(rest, at: "?")
        let (authority, path) = Self.split(beforeQuery, at: "/")

        // userinfo is everything before the last "@" (an encoded password may not contain a raw "@", but be lenient).
        guard let at = authority.lastIndex(of: "@") else { throw .invalidURL("a user name is required (USER@HOST)") }
        let userinfo = authority[..<at]
        let hostport = authority[authority.index(after: at)...]
        let (rawUser, rawPassword) = Self.split(userinfo, at: ":")
        user = try Self.decode(rawUser, what: "user")
        guard !user.isEmpty else { throw .invalidURL("a user name is required (USER@HOST)") }
        password = try rawPassword.map { (p) throws(PostgresError) in try Self.decode(p, what: "password") }

        let (h, p) = try Self.splitHostPort(hostport)
        host = try Self.decode(h, what: "host")
        guard !host.isEmpty else { throw .invalidURL("a host is required") }
        if let p {
            guard let n = Int(p), (1...65535).contains(n) else { throw .invalidURL("port must be 1…65535") }
            port = n
        } else {
            port = 5432
        }
        let db = try Self.decode(path ?? "", what: "database")
        guard !db.contains("/") else { throw .invalidURL("the path must be one database name") }
        database = db.isEmpty ? user : db

        var sslMode = SSLMode.prefer
        var connectTimeout: Int?
        var applicationName: String?
        for pair in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let (k, v) = Self.split(pair, at: "=")
            let key = try Self.decode(k, what: "parameter name")
            let value = try Self.decode(v ?? "", what: "parameter \(key)")
            switch key {
            case "sslmode":
                guard let m = SSLMode(rawValue: value) else {
                    let modes = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw .invalidURL("sslmode must be one of \(modes)")
                }
                sslMode = m
            case "connect_timeout":
                guard let n = Int(value), n >= 0 else { throw .invalidURL("connect_timeout must be whole seconds") }
                connectTimeout = n
            case "application_name":
                applicationName = value
            default:
                let known = Self.knownParameters.sorted().joined(separator: ", ")
                throw .invalidURL("unknown parameter \(PostgresURL.printable(key)) (known: \(known))")
            }
        }
        self.sslMode = sslMode
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
    }

    /// The same server and credentials, another database (a scratch database in tests, `postgres` for
    /// `CREATE DATABASE`).
    public func withDatabase(_ name: String) -> PostgresURL {
        var copy = self
        copy.database = name
        return copy
    }

    /// The URL with `***` for the password (and nothing else changed): safe for logs, errors and `status` output.
    public var redacted: String {
        var s = "postgres://\(Self.encode(user))"
        if password != nil { s += ":***" }
        let h = host.contains(":") ? "[\(host)]" : Self.encode(host)
        s += "@\(h):\(port)/\(Self.encode(database))?sslmode=\(sslMode.rawValue)"
        if let connectTimeout { s += "&connect_timeout=\(connectTimeout)" }
        if let applicationName { s += "&application_name=\(Self.encode(applicationName))" }
        return s
    }

    public var description: String { redacted }

    /// The keyword/value pairs for `PQconnectdbParams`. Passing them separately (not as one conninfo string)
    /// means no value needs quoting, and libpq never sees a URL it could echo back in an error.
    var connectionParameters: [(String, String)] {
        var p: [(String, String)] = [
            ("host", host), ("port", String(port)), ("user", user), ("dbname", database),
            ("sslmode", sslMode.rawValue), ("client_encoding", "UTF8"),
        ]
        if let password { p.append(("password", password)) }
        if let connectTimeout { p.append(("connect_timeout", String(connectTimeout))) }
        if let applicationName { p.append(("application_name", applicationName)) }
        return p
    }

    // MARK: Pieces

    private static func split(_ s: Substring, at c: Character) -> (Substring, Substring?) {
        guard let i = s.firstIndex(of: c) else { return (s, nil) }
        return (s[..<i], s[s.index(after: i)...])
    }

    private static func splitHostPort(_ s: Substring) throws(PostgresError) -> (Substring, Substring?) {
        if s.hasPrefix("[") {  // [IPv6]:port (RFC 3986 §3.2.2)
            guard let close = s.firstIndex(of: "]") else { throw .invalidURL("unclosed [ in the host") }
            let h = s[s.index(after: s.startIndex)..<close]
            let after = s[s.index(after: close)...]
            if after.isEmpty { return (h, nil) }
            guard after.hasPrefix(":") else { throw .invalidURL("unexpected text after ]") }
            return (h, after.dropFirst())
        }
        let (h, p) = split(s, at: ":")
        return (h, p)
    }

    /// Percent-decoding of one component. A malformed escape or invalid UTF-8 is an error, not a guess.
    static func decode(_ s: Substring, what: String) throws(PostgresError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = s.utf8.makeIterator()
        while let b = it.next() {
            guard b == UInt8(ascii: "%") else {
                bytes.append(b)
                continue
            }
            guard let h = it.next().flatMap(hexValue), let l = it.next().flatMap(hexValue) else {
                throw .invalidURL("bad %-escape in the \(what)")
            }
            bytes.append(h << 4 | l)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self), !decoded.utf8.contains(0) else {
            throw .invalidURL("the \(what) is not valid UTF-8 text")
        }
        return decoded
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    /// A short, printable form of a user-supplied name for an error message.
    static func printable(_ s: String) -> String {
        let clipped = s.prefix(40)
        return "\"" + clipped.unicodeScalars.map { $0.isASCII && $0.value >= 32 ? String($0) : "?" }.joined() + "\""
    }
}
