//===----------------------------------------------------------------------===//
// ImageGate: a blocking S3 client for dedicated threads: sign, send with libcurl, classify the answer.
//===----------------------------------------------------------------------===//
import CCurl
import GateCore
import Glibc

/// Talks to one bucket of an S3-compatible store (`S3Location`) with one set of credentials.
///
/// Every call blocks its thread until the store answers or a timeout fires. Call it from dedicated threads
/// (`OSThread`s, a `DispatchQueue`), never from a Swift task: a cooperative-pool thread blocked on the
/// network stalls every task behind it. The client is `Sendable`: calls from several threads at once each
/// get their own libcurl handle from a small pool (idle handles keep their connections, so a later request
/// reuses them). Nothing is retried here: the caller decides (a download answers 503 at once, an import may
/// try again).
public final class S3Client: Sendable {
    public struct Configuration: Sendable {
        /// Time to establish the TCP (and TLS) connection.
        public var connectTimeoutMilliseconds = 5_000
        /// A transfer with no byte moving for this long fails (`network`): a store that stopped answering.
        public var idleTimeoutSeconds = 10
        /// A cap on a whole request, nil for none (a large GET or part upload may legitimately take long).
        public var requestTimeoutMilliseconds: Int?
        /// PEM file of CA certificates for an https endpoint; nil: the system's CAs.
        public var caFile: String?
        /// Idle libcurl handles kept for reuse (each with its open connections).
        public var maxIdleHandles = 16
        /// Called after every request, successful or not, on the calling thread: to count store requests
        /// by operation (metrics) and to show single flight from outside.
        public var onRequest: (@Sendable (S3RequestRecord) -> Void)?
        /// A `debug` line per request (operation, key, status, bytes, milliseconds) when set.
        public var logger: Logger?
        /// Seconds since 1970 for the signature's date; injectable for tests.
        public var now: @Sendable () -> Int64 = { Int64(time(nil)) }

        public init() {}
    }

    public let location: S3Location
    public let configuration: Configuration
    let signer: SigV4Signer
    let handles: CurlHandlePool
    /// A successful answer that is read whole (XML listings, upload ids) is never larger than this.
    static let xmlAnswerLimit = 8 * 1024 * 1024

    public init(location: S3Location, credentials: S3Credentials, configuration: Configuration = Configuration()) {
        self.location = location
        self.configuration = configuration
        signer = SigV4Signer(credentials: credentials, region: location.region)
        handles = CurlHandlePool(capacity: configuration.maxIdleHandles)
    }

    /// One request as the operations describe it; `perform` signs and sends it.
    struct Request {
        let operation: S3Operation
        let method: String
        /// nil: the bucket itself.
        let key: String?
        var query: [(String, String)] = []
        var headers: [(String, String)] = []
        var body: S3RequestBody = .empty
        /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        var payloadHash: String = SigV4Signer.emptyPayloadHash
    }

    struct Response {
        let status: Int
        /// Lower-case names.
        let headers: [String: String]
        /// The collected body (empty when it was streamed to a sink).
        let body: [UInt8]
        let received: UInt64
    }

    /// Signs and sends `request`; a 2xx answer is returned, anything else thrown as a classified `S3Error`.
    func perform(
        _ request: Request, sink: S3ResponseSink = .collect(limit: xmlAnswerLimit),
        acceptHeaders: ((Int, [String: String]) -> S3Error?)? = nil
    ) throws(S3Error) -> Response {
        if let key = request.key, key.isEmpty || key.utf8.count > 1024 {
            // An empty key would address the bucket itself (`PUT /BUCKET` creates a bucket): refused before any
            // request. S3 keys are at most 1024 bytes of UTF-8.
            throw S3Error(.rejected, "\(request.operation.rawValue): an object key must be 1 to 1024 bytes")
        }
        let started = ContinuousClock.now
        var exchange: S3Exchange?
        let result: Result<Response, S3Error> = run(request, sink: sink, acceptHeaders: acceptHeaders) { exchange = $0 }
        let elapsed = ContinuousClock.now - started
        let nanos =
            UInt64(elapsed.components.seconds) * 1_000_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000)
        let status: Int? = (exchange?.status ?? 0) > 0 ? exchange?.status : nil
        let record = S3RequestRecord(
            operation: request.operation, status: status, errorKind: result.failure?.kind,
            bytesSent: exchange?.sent ?? 0, bytesReceived: exchange?.received ?? 0, durationNanoseconds: nanos)
        configuration.onRequest?(record)
        configuration.logger?.debug(
            "s3: \(request.operation.rawValue) \(request.key.map { "key=\($0)" } ?? "bucket=\(location.bucket)") "
                + "status=\(status.map(String.init) ?? "-") sent=\(record.bytesSent) received=\(record.bytesReceived) "
                + "ms=\(nanos / 1_000_000)" + (result.failure.map { " error=\($0.kind.rawValue)" } ?? ""))
        return try result.get()
    }

    private func run(
        _ request: Request, sink: S3ResponseSink, acceptHeaders: ((Int, [String: String]) -> S3Error?)?,
        expose: (S3Exchange) -> Void
    ) -> Result<Response, S3Error> {
        guard let handle = handles.take() else { return .failure(S3Error(.network, "cannot create a libcurl handle")) }
        defer { handles.give(handle) }
        let exchange = S3Exchange(easy: handle.raw, body: request.body, sink: sink, acceptHeaders: acceptHeaders)
        expose(exchange)
        let (host, path) = location.address(key: request.key)
        let query = SigV4Signer.canonicalQuery(request.query)
        let url = "\(location.endpoint.scheme)://\(host)\(path)" + (query.isEmpty ? "" : "?\(query)")
        var headers = [("Host", host), ("x-amz-content-sha256", request.payloadHash)] + request.headers
        let signature = signer.sign(
            SigV4Signer.Request(
                method: request.method, path: path, query: request.query, headers: headers,
                payloadHash: request.payloadHash),
            at: configuration.now())
        headers += signature.addedHeaders
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CCurl_error_size()) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CCurl_error_size()) + 1)
        defer { errorBuffer.deallocate() }
        // Headers as libcurl sends them; "Expect:" with no value stops libcurl from adding Expect: 100-continue
        // (a one-second wait with stores that ignore it; the body is sent at once instead).
        let lines = headers.map { "\($0.0): \($0.1)" } + ["Expect:"]
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines { list = curl_slist_append(list, line) }
        defer { curl_slist_free_all(list) }

        let userdata = Unmanaged.passUnretained(exchange).toOpaque()
        let rc: CURLcode = withExtendedLifetime(exchange) {
            if let refused = configure(
                handle.raw, url: url, method: request.method, body: request.body, headers: list,
                userdata: userdata, errorBuffer: errorBuffer)
            {
                return refused
            }
            return curl_easy_perform(handle.raw)
        }
        if let stop = exchange.stop { return .failure(stop) }
        guard rc == CURLE_OK else {
            let detail =
                errorBuffer.pointee != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(rc))
            let text = signer.credentials.scrub(detail)
            return .failure(S3Error(.network, "\(request.operation.rawValue) to \(location.endpoint) failed: \(text)"))
        }
        guard exchange.isSuccess else { return .failure(error(for: exchange, request: request)) }
        return .success(
            Response(
                status: exchange.status, headers: exchange.headers, body: exchange.collected,
                received: exchange.received))
    }

    /// The classified error for a non-2xx answer: the `<Error>` document's code when there is one (HEAD
    /// answers have no body), else the status alone.
    private func error(for exchange: S3Exchange, request: Request) -> S3Error {
        let document = S3ErrorDocument(exchange.collected)
        let kind = S3Error.kind(s3Code: document?.code, status: exchange.status)
        var what = request.operation.rawValue
        if let key = request.key { what += " \(key)" } else { what += " bucket \(location.bucket)" }
        var message = "\(what): "
        if let text = document?.message, !text.isEmpty {
            message += signer.credentials.scrub(text)
        } else {
            message += defaultMessage(kind, status: exchange.status)
        }
        return S3Error(
            kind, message, s3Code: document?.code, httpStatus: exchange.status,
            requestID: document?.requestID ?? exchange.headers["x-amz-request-id"])
    }

    private func defaultMessage(_ kind: S3Error.Kind, status: Int) -> String {
        switch kind {
        case .notFound: "not found"
        case .noSuchBucket: "the bucket does not exist"
        case .accessDenied: "access denied"
        case .invalidCredentials: "the credentials were refused"
        case .slowDown: "the store asks to slow down"
        case .unavailable: "the store answered with a server error"
        case .rejected, .protocol, .network, .configuration, .cancelled: "the store answered HTTP \(status)"
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
