//===----------------------------------------------------------------------===//
// ImageGate: what went wrong talking to an S3 store, classified once, never carrying a secret.
//===----------------------------------------------------------------------===//
import GateCore

/// The one error `S3Client` throws. `kind` is what callers switch on; `s3Code` is the store's `<Code>` when it
/// sent an XML error body (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), `httpStatus`
/// the response status when there was a response. `message` never holds the secret key or session token:
/// configuration errors do not repeat the secret, and every store or libcurl text is scrubbed before it is
/// stored (`S3Credentials.scrub`).
public struct S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// The `s3://` location or the credentials (environment, file, file mode) are unusable.
        case configuration
        /// No such object or multipart upload (`NoSuchKey`, `NoSuchUpload`, a 404 without a body).
        case notFound = "not_found"
        /// The bucket does not exist (`NoSuchBucket`).
        case noSuchBucket = "no_such_bucket"
        /// The credentials are valid but not allowed to do this (`AccessDenied`, another 403).
        case accessDenied = "access_denied"
        /// The store does not accept the credentials (`InvalidAccessKeyId`, `SignatureDoesNotMatch`,
        /// `ExpiredToken`, `InvalidToken`).
        case invalidCredentials = "invalid_credentials"
        /// The store asks the client to slow down (`SlowDown`, HTTP 503 with that code).
        case slowDown = "slow_down"
        /// The store answered with a server error (5xx: `InternalError`, `ServiceUnavailable`, …).
        case unavailable
        /// No answer: connection refused, DNS, TLS, a timeout, a connection cut mid-transfer.
        case network
        /// The store answered something this client cannot use (malformed XML, a missing ETag, a 200 where a
        /// 206 was asked for, an error inside a 200 CompleteMultipartUpload).
        case `protocol`
        /// The store refused the request itself (any other 4xx: `InvalidRange`, `InvalidPart`,
        /// `EntityTooSmall`, `RequestTimeTooSkewed`, …).
        case rejected
        /// The caller's sink or source stopped the transfer.
        case cancelled
    }

    public var kind: Kind
    public var message: String
    /// The store's error code (`NoSuchKey`, `SlowDown`, …), when it sent one.
    public var s3Code: String?
    /// The HTTP status, when a response arrived.
    public var httpStatus: Int?
    /// The store's `x-amz-request-id` (or the XML `<RequestId>`), for the store operator's logs.
    public var requestID: String?

    public init(
        _ kind: Kind, _ message: String, s3Code: String? = nil, httpStatus: Int? = nil, requestID: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.s3Code = s3Code
        self.httpStatus = httpStatus
        self.requestID = requestID
    }

    public var description: String {
        var s = message
        var facts: [String] = []
        if let s3Code { facts.append(s3Code) }
        if let httpStatus { facts.append("HTTP \(httpStatus)") }
        if let requestID { facts.append("request \(requestID)") }
        if !facts.isEmpty { s += " (\(facts.joined(separator: ", ")))" }
        return s
    }

    /// True for failures a later attempt may cure (the store busy, down or unreachable): a download answers
    /// 503 with Retry-After, an import may be retried.
    public var isTransient: Bool {
        switch kind {
        case .slowDown, .unavailable, .network: true
        case .configuration, .notFound, .noSuchBucket, .accessDenied, .invalidCredentials, .protocol, .rejected,
            .cancelled:
            false
        }
    }

    @inline(never) static func configuration(_ why: String) -> S3Error { S3Error(.configuration, why) }
    @inline(never) static func protocolError(_ why: String, status: Int? = nil) -> S3Error {
        S3Error(.protocol, why, httpStatus: status)
    }

    /// The kind for a store error code and HTTP status. Codes win over the status (a 403 may be a wrong key
    /// or a missing permission); without a known code the status decides.
    static func kind(s3Code: String?, status: Int) -> Kind {
        switch s3Code {
        case "NoSuchKey", "NoSuchUpload", "NoSuchVersion": return .notFound
        case "NoSuchBucket": return .noSuchBucket
        case "AccessDenied", "AllAccessDisabled", "AccountProblem": return .accessDenied
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
            "InvalidSecurity", "AuthorizationHeaderMalformed":
            return .invalidCredentials
        case "SlowDown", "RequestLimitExceeded", "TooManyRequests": return .slowDown
        case "InternalError", "ServiceUnavailable": return .unavailable
        default: break
        }
        switch status {
        case 404: return .notFound
        case 401: return .invalidCredentials
        case 403: return .accessDenied
        case 429: return .slowDown
        case 500...599: return .unavailable
        default: return .rejected
        }
    }

    /// The domain error for the layers above: one mapping, exhaustive, so a new kind must be placed. Only a
    /// missing object is the caller's `notFound`; everything about the store itself (bucket, credentials,
    /// availability) is an I/O problem of this node, never the downloading user's.
    public var gateError: GateError {
        switch kind {
        case .notFound: .notFound("object store: \(description)")
        case .configuration: .usage(message)
        case .noSuchBucket: .io("object store bucket missing: \(description)")
        case .accessDenied: .io("object store refused access: \(description)")
        case .invalidCredentials: .io("object store credentials refused: \(description)")
        case .slowDown, .unavailable: .io("object store unavailable: \(description)")
        case .network: .io("object store unreachable: \(description)")
        case .protocol: .io("object store protocol error: \(description)")
        case .rejected: .io("object store rejected the request: \(description)")
        case .cancelled: .io("object store transfer cancelled: \(description)")
        }
    }
}
