//===----------------------------------------------------------------------===//
// ImageGate: AWS Signature Version 4, header-based, with OpenSSL's HMAC-SHA256 and SHA-256.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore

/// Signs requests with AWS Signature Version 4 in the `Authorization` header
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html and, for S3,
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html):
///
/// 1. canonical request = method, canonical URI, canonical query, canonical headers, signed header names,
///    payload hash, joined by LF;
/// 2. string to sign = `AWS4-HMAC-SHA256`, the request time, the scope `DATE/REGION/SERVICE/aws4_request`, the
///    hex SHA-256 of the canonical request;
/// 3. signing key = HMAC chain `"AWS4"+secret` → date → region → service → `aws4_request`;
/// 4. signature = hex HMAC(signing key, string to sign).
///
/// The signer adds `x-amz-date` (and `x-amz-security-token` with session credentials) and signs every header
/// it is given, so the caller decides the set (S3 requests always carry `host` and `x-amz-content-sha256`).
/// S3 paths are not normalized and are encoded once (the caller passes the encoded path it sends).
public struct SigV4Signer: Sendable {
    public let credentials: S3Credentials
    public let region: String
    public let service: String

    /// `x-amz-content-sha256` for a body that is not hashed (S3 only; the transport's integrity is relied on).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// Hex SHA-256 of the empty string: the payload hash of every request without a body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// What to sign. `path` is the canonical URI exactly as sent (already encoded with `S3URIEncoding`);
    /// `query` holds decoded names and values; `headers` are name/value pairs as sent, `Host` included.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(String, String)]
        public var headers: [(String, String)]
        public var payloadHash: String

        public init(
            method: String, path: String, query: [(String, String)] = [], headers: [(String, String)],
            payloadHash: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The result: headers to add to the request (`x-amz-date`, maybe `x-amz-security-token`,
    /// `Authorization`) and the intermediate texts, for tests and for debugging a `SignatureDoesNotMatch`
    /// (none of them contains the secret).
    public struct Signature: Sendable {
        public let addedHeaders: [(String, String)]
        public let canonicalRequest: String
        public let stringToSign: String
        public let signature: String
        public let authorization: String
    }

    /// Signs `request` as made at `unixTime` (seconds since 1970, UTC).
    public func sign(_ request: Request, at unixTime: Int64) -> Signature {
        let amzDate = Self.amzDate(unixTime)
        let day = String(amzDate.prefix(8))
        var added: [(String, String)] = [("x-amz-date", amzDate)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers + added)
        let canonicalRequest = [
            request.method, request.path, Self.canonicalQuery(request.query), canonicalHeaders, signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, S3URIEncoding.hex(Crypto.sha256(Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let signature = S3URIEncoding.hex(
            Crypto.hmacSHA256(key: signingKey(day: day), message: Array(stringToSign.utf8)))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), "
            + "Signature=\(signature)"
        return Signature(
            addedHeaders: added + [("Authorization", authorization)], canonicalRequest: canonicalRequest,
            stringToSign: stringToSign, signature: signature, authorization: authorization)
    }

    func signingKey(day: String) -> [UInt8] {
        var key = Crypto.hmacSHA256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), message: Array(day.utf8))
        for part in [region, service, "aws4_request"] { key = Crypto.hmacSHA256(key: key, message: Array(part.utf8)) }
        return key
    }

    // MARK: Canonical pieces

    /// Names and values encoded with `UriEncode`, sorted by encoded name, then by encoded value; a name
    /// without a value is `name=`. The same text is the request's query string.
    public static func canonicalQuery(_ items: [(String, String)]) -> String {
        items.map { (S3URIEncoding.encode($0.0), S3URIEncoding.encode($0.1)) }
            .sorted { a, b in
                a.0 != b.0 ? a.0.utf8.lexicographicallyPrecedes(b.0.utf8) : a.1.utf8.lexicographicallyPrecedes(b.1.utf8)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lower-case names, sorted; each value trimmed with inner runs of white space made one space; a name given
    /// more than once gets its values joined by commas in the order given. Returns the block (each line ends
    /// with LF) and the `;`-joined names.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (String, String) {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let n = name.lowercased()
            if values[n] == nil { order.append(n) }
            values[n, default: []].append(trimAll(value))
        }
        let names = order.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let block = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// Trims leading and trailing white space and folds every inner run of spaces, tabs and line breaks into
    /// one space (AWS "Trimall").
    static func trimAll(_ value: String) -> String {
        var out: [UInt8] = []
        var pendingSpace = false
        for b in value.utf8 {
            if b == 32 || b == 9 || b == 10 || b == 13 {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(32) }
            pendingSpace = false
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `20150830T123600Z` (ISO 8601 basic format, UTC).
    public static func amzDate(_ unixTime: Int64) -> String {
        let compact = TimeFormat.compact(unixTime)
        return "\(compact.prefix(8))T\(compact.suffix(6))Z"
    }
}
