//===----------------------------------------------------------------------===//
// ImageGate: single-object calls: PUT, GET (whole or a range) into memory, a descriptor or a sink, HEAD, DELETE.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Glibc
import SystemIO

extension S3Client {
    /// Stores `bytes` as `key` (signed with the body's SHA-256). Returns the store's ETag.
    @discardableResult
    public func putObject(key: String, bytes: [UInt8], contentType: String? = nil) throws(S3Error) -> String {
        try putObject(key: key, body: .bytes(bytes), payloadSHA256: Crypto.sha256(bytes), contentType: contentType)
    }

    /// Stores `length` bytes of `descriptor` from `offset` as `key`. With `payloadSHA256` the body's hash is
    /// signed (the store rejects a body that differs); without it the body is sent as `UNSIGNED-PAYLOAD`.
    @discardableResult
    public func putObject(
        key: String, descriptor: Int32, offset: UInt64, length: UInt64, payloadSHA256: [UInt8]? = nil,
        contentType: String? = nil
    ) throws(S3Error) -> String {
        try putObject(
            key: key, body: .file(descriptor: descriptor, offset: offset, length: length),
            payloadSHA256: payloadSHA256, contentType: contentType)
    }

    private func putObject(key: String, body: S3RequestBody, payloadSHA256: [UInt8]?, contentType: String?)
        throws(S3Error) -> String
    {
        var r = Request(operation: .putObject, method: "PUT", key: key)
        r.body = body
        r.payloadHash = payloadSHA256.map(S3URIEncoding.hex) ?? SigV4Signer.unsignedPayload
        if let contentType { r.headers.append(("Content-Type", contentType)) }
        return try Self.etag(of: perform(r), operation: .putObject)
    }

    /// The object (or `range` of it) in memory. For small objects and tests; large ones go to a descriptor.
    public func getObject(key: String, range: S3ByteRange? = nil)
        throws(S3Error) -> (bytes: [UInt8], info: S3ObjectInfo)
    {
        var bytes: [UInt8] = []
        let result = try getObject(key: key, range: range) { chunk in
            bytes.append(contentsOf: chunk)
            return true
        }
        return (bytes, result.info)
    }

    /// Writes the object (or `range` of it) into `descriptor` at `fileOffset` onward with `pwrite`. A failed
    /// write stops the transfer (`cancelled`, naming the errno).
    public func getObject(key: String, range: S3ByteRange? = nil, into descriptor: Int32, at fileOffset: UInt64)
        throws(S3Error) -> S3GetResult
    {
        var position = fileOffset
        var writeError: Int32 = 0
        do throws(S3Error) {
            return try getObject(key: key, range: range) { chunk in
                do throws(SystemError) {
                    try FileIO.pwriteAll(descriptor, chunk, at: position)
                } catch {
                    writeError = error.errno
                    return false
                }
                position += UInt64(chunk.count)
                return true
            }
        } catch {
            guard writeError != 0 else { throw error }
            throw S3Error(
                .cancelled, "writing \(key) to the local file failed: \(String(cString: strerror(writeError)))")
        }
    }

    /// Streams the object (or `range` of it) to `sink` chunk by chunk; `false` from the sink stops the
    /// transfer (`cancelled`). The answer is checked before any byte reaches the sink: a ranged GET must be a
    /// 206 for the first byte asked (a 200 only when it is the whole object and fits in the range), so a sink
    /// never gets bytes from the wrong offset. A short body is a `network` error (libcurl checks the length).
    @discardableResult
    public func getObject(
        key: String, range: S3ByteRange? = nil, sink: @escaping (UnsafeRawBufferPointer) -> Bool
    ) throws(S3Error) -> S3GetResult {
        var r = Request(operation: .getObject, method: "GET", key: key)
        if let range { r.headers.append(("Range", range.headerValue)) }
        var info: S3ObjectInfo?
        let response = try perform(r, sink: .stream(sink)) { status, headers in
            switch Self.objectInfo(status: status, headers: headers, range: range) {
            case .success(let i):
                info = i
                return nil
            case .failure(let e): return e
            }
        }
        guard let info else { throw .protocolError("GetObject \(key): no response headers", status: response.status) }
        return S3GetResult(info: info, bytesDelivered: response.received)
    }

    /// Size, ETag, Last-Modified and Content-Type of `key`. A missing key is `notFound` (a HEAD answer has no
    /// body, so the store's error code is not known).
    public func headObject(key: String) throws(S3Error) -> S3ObjectInfo {
        let response = try perform(Request(operation: .headObject, method: "HEAD", key: key))
        return try Self.objectInfo(status: response.status, headers: response.headers, range: nil).get()
    }

    /// Removes `key`. S3 answers 204 whether or not the key existed, so deleting twice is not an error.
    public func deleteObject(key: String) throws(S3Error) {
        _ = try perform(Request(operation: .deleteObject, method: "DELETE", key: key))
    }

    /// Whether the bucket exists and these credentials may use it: `noSuchBucket` for a 404, `accessDenied`
    /// for a 403 (a HEAD answer has no body to tell a wrong key from a missing permission).
    public func headBucket() throws(S3Error) {
        do throws(S3Error) {
            _ = try perform(Request(operation: .headBucket, method: "HEAD", key: nil))
        } catch  where error.kind == .notFound {
            throw S3Error(
                .noSuchBucket, "HeadBucket \(location.bucket): the bucket does not exist", httpStatus: error.httpStatus,
                requestID: error.requestID)
        }
    }

    // MARK: Pieces

    static func etag(of response: Response, operation: S3Operation) throws(S3Error) -> String {
        guard let etag = response.headers["etag"], !etag.isEmpty else {
            throw .protocolError("\(operation.rawValue): the store sent no ETag", status: response.status)
        }
        return etag
    }

    /// The object's facts from a HEAD or GET answer, checked against the range asked for.
    static func objectInfo(status: Int, headers: [String: String], range: S3ByteRange?)
        -> Result<S3ObjectInfo, S3Error>
    {
        guard let etag = headers["etag"], !etag.isEmpty else {
            return .failure(.protocolError("the store sent no ETag", status: status))
        }
        guard let length = headers["content-length"].flatMap({ UInt64($0) }) else {
            return .failure(.protocolError("the store sent no Content-Length", status: status))
        }
        var size = length
        if let range {
            if status == 206 {
                guard let cr = headers["content-range"].flatMap(ContentRange.init), cr.first == range.first,
                    cr.last - cr.first + 1 == length, range.last.map({ cr.last <= $0 }) ?? true
                else {
                    return .failure(
                        .protocolError("the store answered \(range) with another Content-Range", status: status))
                }
                size = cr.total
            } else {
                // A 200 is the whole object: usable only when the range asked for starts at 0 and covers it.
                guard range.first == 0, range.last.map({ length <= $0 + 1 }) ?? true else {
                    return .failure(
                        .protocolError("the store ignored the Range \(range) (HTTP \(status))", status: status))
                }
            }
        }
        return .success(
            S3ObjectInfo(
                size: size, etag: etag, lastModified: headers["last-modified"], contentType: headers["content-type"]))
    }

    /// `Content-Range: bytes FIRST-LAST/TOTAL` (RFC 9110 §14.4); an unknown total (`*`) is not accepted.
    struct ContentRange {
        let first: UInt64
        let last: UInt64
        let total: UInt64

        init?(_ text: String) {
            guard text.hasPrefix("bytes ") else { return nil }
            let parts = text.dropFirst(6).split(separator: "/")
            guard parts.count == 2, let total = UInt64(parts[1]) else { return nil }
            let bounds = parts[0].split(separator: "-")
            guard bounds.count == 2, let f = UInt64(bounds[0]), let l = UInt64(bounds[1]), f <= l, l < total else {
                return nil
            }
            first = f
            last = l
            self.total = total
        }
    }
}
