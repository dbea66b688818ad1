//===----------------------------------------------------------------------===//
// ImageGate: `s3://BUCKET/PREFIX?endpoint=…&region=…&path_style=…`, parsed and checked once.
//===----------------------------------------------------------------------===//

/// Where ImageGate's objects live: a bucket, a key prefix inside it, and the store that serves it.
///
///     s3://BUCKET/PREFIX?endpoint=http://HOST:PORT&region=REGION&path_style=true
///
/// - `BUCKET` follows S3's bucket naming rules (3–63 characters of `a-z 0-9 . -`, starting and ending with a
///   letter or digit).
/// - `PREFIX` (optional) is percent-decoded; leading and trailing `/` are dropped, empty, `.` and `..`
///   segments are refused. Object keys are `PREFIX/…` (`key(_:)`).
/// - `endpoint`: `http://` or `https://` host and optional port, nothing else (no path, no user info).
///   Without it the store is AWS S3 in `region`.
/// - `region` (default `us-east-1`): the region in the signature's scope; S3-compatible stores accept
///   `us-east-1` unless configured otherwise.
/// - `path_style` (`true`/`false`): address the bucket in the path (`http://HOST/BUCKET/KEY`) or in the host
///   name (`https://BUCKET.HOST/KEY`). Default: `true` with an `endpoint` (what MinIO, Ceph RGW and
///   SeaweedFS expect), `false` for AWS.
///
/// Any other query key is refused, like an unknown config key. Credentials never go in the URL: user info is
/// refused, so a URL printed in a log cannot carry a secret.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public let bucket: String
    /// Without leading or trailing `/`; empty when the objects sit at the bucket's root.
    public let prefix: String
    public let endpoint: S3Endpoint
    public let region: String
    public let pathStyle: Bool

    static let knownParameters = ["endpoint", "path_style", "region"]

    public init(_ text: String) throws(S3Error) {
        guard text.hasPrefix("s3://") else { throw .configuration("expected s3://BUCKET/PREFIX?endpoint=…") }
        var rest = Substring(text.dropFirst(5))
        guard !rest.contains("#") else { throw Self.invalid("a fragment (#…) is not allowed") }
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = rest[slash...]
        guard !authority.contains("@") else {
            throw Self.invalid("credentials do not belong in the URL (use the environment or a credentials file)")
        }
        let bucket = String(authority)
        try Self.checkBucket(bucket)
        self.bucket = bucket
        prefix = try Self.parsePrefix(path)

        var endpoint: S3Endpoint?
        var region = "us-east-1"
        var pathStyle: Bool?
        var seen: Set<String> = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let eq = pair.firstIndex(of: "=") ?? pair.endIndex
            guard let key = S3URIEncoding.decode(pair[..<eq]),
                let value = S3URIEncoding.decode(eq == pair.endIndex ? "" : pair[pair.index(after: eq)...])
            else { throw Self.invalid("bad %-escape in a parameter") }
            guard Self.knownParameters.contains(key) else {
                throw Self.invalid(
                    "unknown parameter \(Self.printable(key)) (known: \(Self.knownParameters.joined(separator: ", ")))")
            }
            guard seen.insert(key).inserted else { throw Self.invalid("parameter \(key) given twice") }
            switch key {
            case "endpoint": endpoint = try S3Endpoint(value)
            case "region":
                guard !value.isEmpty,
                    value.utf8.allSatisfy({ S3URIEncoding.isUnreserved($0) && $0 != UInt8(ascii: "~") })
                else { throw Self.invalid("region must be letters, digits, '-', '_' or '.' (like us-east-1)") }
                region = value
            default:
                switch value {
                case "true": pathStyle = true
                case "false": pathStyle = false
                default: throw Self.invalid("path_style must be true or false")
                }
            }
        }
        self.region = region
        self.endpoint = endpoint ?? S3Endpoint(awsRegion: region)
        self.pathStyle = pathStyle ?? (endpoint != nil)
        if !self.pathStyle {
            guard !self.endpoint.isIPLiteral else {
                throw Self.invalid("path_style=false needs a host name endpoint, not an IP address")
            }
            guard !bucket.contains(".") || self.endpoint.scheme == "http" else {
                // BUCKET.HOST with a dot in BUCKET does not match a *.HOST certificate (RFC 6125 §6.4.3).
                throw Self.invalid("a bucket name with '.' needs path_style=true over https")
            }
        }
    }

    /// The object key for `relative` inside the prefix: `PREFIX/relative`, or `relative` without a prefix.
    public func key(_ relative: String) -> String {
        prefix.isEmpty ? relative : prefix + "/" + relative
    }

    /// The object of one image version: `PREFIX/images/<image-id>/<generation>` (Docs/object-storage.md).
    public func imageObjectKey(imageID: String, generation: Int64) -> String {
        key("images/\(imageID)/\(generation)")
    }

    /// The URL text, normalized (the prefix decoded and re-encoded, every parameter written out).
    public var description: String {
        var s = "s3://\(bucket)"
        if !prefix.isEmpty { s += "/" + S3URIEncoding.encode(prefix, keepSlash: true) }
        s += "?endpoint=\(endpoint)&region=\(region)&path_style=\(pathStyle)"
        return s
    }

    // MARK: Addressing

    /// Host header value and canonical (encoded) path of a request for `key` (nil: the bucket itself).
    func address(key: String?) -> (host: String, path: String) {
        let encodedKey = key.map { S3URIEncoding.encode($0, keepSlash: true) }
        if pathStyle {
            return (endpoint.hostHeader, "/\(bucket)" + (encodedKey.map { "/" + $0 } ?? ""))
        }
        return ("\(bucket).\(endpoint.hostHeader)", "/" + (encodedKey ?? ""))
    }

    // MARK: Pieces

    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (the general-purpose rules
    /// that matter for a URL: length, characters, first and last character, no "..", not an IPv4 address).
    static func checkBucket(_ name: String) throws(S3Error) {
        let b = Array(name.utf8)
        guard (3...63).contains(b.count) else { throw invalid("the bucket name must be 3 to 63 characters") }
        let ok = b.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
        }
        guard ok else { throw invalid("the bucket name may hold only a-z, 0-9, '.' and '-'") }
        let alnum: (UInt8) -> Bool = { $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "-") }
        guard alnum(b[0]), alnum(b[b.count - 1]) else {
            throw invalid("the bucket name must start and end with a letter or digit")
        }
        guard !name.contains("..") else { throw invalid("the bucket name must not contain \"..\"") }
        let parts = name.split(separator: ".")
        guard !(parts.count == 4 && parts.allSatisfy({ UInt8($0) != nil })) else {
            throw invalid("the bucket name must not be an IP address")
        }
    }

    private static func parsePrefix(_ path: Substring) throws(S3Error) -> String {
        let trimmed = path.drop(while: { $0 == "/" })
        var segments: [String] = []
        for raw in trimmed.split(separator: "/", omittingEmptySubsequences: false) {
            guard let segment = S3URIEncoding.decode(raw) else { throw invalid("bad %-escape in the prefix") }
            segments.append(segment)
        }
        if segments.last == "" { segments.removeLast() }
        for s in segments {
            guard !s.isEmpty else { throw invalid("the prefix has an empty segment (//)") }
            guard s != ".", s != ".." else { throw invalid("the prefix must not contain . or .. segments") }
            guard !s.contains("/") else { throw invalid("the prefix must not hold an encoded '/' (%2F)") }
        }
        let prefix = segments.joined(separator: "/")
        guard prefix.utf8.count <= 512 else { throw invalid("the prefix is longer than 512 bytes") }
        return prefix
    }

    @inline(never) static func invalid(_ why: String) -> S3Error { .configuration("invalid S3 location: \(why)") }

    /// A short, printable form of a user-supplied name for an error message.
    static func printable(_ s: String) -> String {
        "\"" + s.prefix(40).unicodeScalars.map { $0.isASCII && $0.value >= 32 ? String($0) : "?" }.joined() + "\""
    }
}
