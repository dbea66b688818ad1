//===----------------------------------------------------------------------===//
// ImageGate: multipart uploads: create, upload parts, complete, abort, list the ones still open.
//===----------------------------------------------------------------------===//
import CryptoPrimitives

extension S3Client {
    /// Begins a multipart upload for `key` and returns its upload id
    /// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html). Nothing is visible
    /// under `key` until `completeMultipartUpload`; an upload never completed must be aborted, or the store
    /// keeps its parts.
    public func createMultipartUpload(key: String, contentType: String? = nil) throws(S3Error) -> String {
        var r = Request(operation: .createMultipartUpload, method: "POST", key: key)
        r.query = [("uploads", "")]
        if let contentType { r.headers.append(("Content-Type", contentType)) }
        let body = try perform(r).body
        guard let root = S3XML.parse(body), root.name == "InitiateMultipartUploadResult",
            let id = root.value("UploadId"), !id.isEmpty
        else { throw .protocolError("CreateMultipartUpload \(key): the answer has no UploadId") }
        return id
    }

    /// Uploads part `partNumber` (1…10000; every part but the last at least 5 MiB on AWS) from memory,
    /// signed with its SHA-256. Returns the part's ETag, which `completeMultipartUpload` needs.
    public func uploadPart(key: String, uploadID: String, partNumber: Int, bytes: [UInt8]) throws(S3Error) -> String {
        try uploadPart(
            key: key, uploadID: uploadID, partNumber: partNumber, body: .bytes(bytes),
            payloadSHA256: Crypto.sha256(bytes))
    }

    /// Uploads part `partNumber` from `length` bytes of `descriptor` at `offset` (`UNSIGNED-PAYLOAD` unless
    /// `payloadSHA256` is given). Returns the part's ETag.
    public func uploadPart(
        key: String, uploadID: String, partNumber: Int, descriptor: Int32, offset: UInt64, length: UInt64,
        payloadSHA256: [UInt8]? = nil
    ) throws(S3Error) -> String {
        try uploadPart(
            key: key, uploadID: uploadID, partNumber: partNumber,
            body: .file(descriptor: descriptor, offset: offset, length: length), payloadSHA256: payloadSHA256)
    }

    private func uploadPart(
        key: String, uploadID: String, partNumber: Int, body: S3RequestBody, payloadSHA256: [UInt8]?
    )
        throws(S3Error) -> String
    {
        guard (1...10_000).contains(partNumber) else {
            throw S3Error(.rejected, "UploadPart \(key): part number \(partNumber) is outside 1…10000")
        }
        var r = Request(operation: .uploadPart, method: "PUT", key: key)
        r.query = [("partNumber", String(partNumber)), ("uploadId", uploadID)]
        r.body = body
        r.payloadHash = payloadSHA256.map(S3URIEncoding.hex) ?? SigV4Signer.unsignedPayload
        return try Self.etag(of: perform(r), operation: .uploadPart)
    }

    /// Assembles the parts (in part-number order, as S3 requires) into the object `key`; returns its ETag.
    /// S3 may answer 200 and still fail (an `<Error>` in the body, sent after a long assembly): that is
    /// thrown like any error.
    @discardableResult
    public func completeMultipartUpload(key: String, uploadID: String, parts: [S3CompletedPart]) throws(S3Error)
        -> String
    {
        guard !parts.isEmpty else { throw S3Error(.rejected, "CompleteMultipartUpload \(key): no parts") }
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts.sorted(by: { $0.partNumber < $1.partNumber }) {
            xml += "<Part><PartNumber>\(part.partNumber)</PartNumber><ETag>\(Self.escapeXML(part.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let bytes = Array(xml.utf8)
        var r = Request(operation: .completeMultipartUpload, method: "POST", key: key)
        r.query = [("uploadId", uploadID)]
        r.headers = [("Content-Type", "application/xml")]
        r.body = .bytes(bytes)
        r.payloadHash = S3URIEncoding.hex(Crypto.sha256(bytes))
        let response = try perform(r)
        if let failure = S3ErrorDocument(response.body) {
            let kind = S3Error.kind(s3Code: failure.code, status: 500)
            throw S3Error(
                kind, "CompleteMultipartUpload \(key): \(failure.message ?? "failed")", s3Code: failure.code,
                httpStatus: response.status, requestID: failure.requestID)
        }
        guard let root = S3XML.parse(response.body), root.name == "CompleteMultipartUploadResult" else {
            throw .protocolError(
                "CompleteMultipartUpload \(key): the answer is not a result document", status: response.status)
        }
        return root.value("ETag") ?? response.headers["etag"] ?? ""
    }

    /// Drops an upload and its parts. Aborting an upload that is gone is `notFound` (`NoSuchUpload`).
    public func abortMultipartUpload(key: String, uploadID: String) throws(S3Error) {
        var r = Request(operation: .abortMultipartUpload, method: "DELETE", key: key)
        r.query = [("uploadId", uploadID)]
        _ = try perform(r)
    }

    /// One page of the multipart uploads begun under `prefix` and not yet completed or aborted
    /// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html).
    public func listMultipartUploads(
        prefix: String, keyMarker: String? = nil, uploadIDMarker: String? = nil, maxUploads: Int = 1000
    ) throws(S3Error) -> S3UploadsPage {
        var r = Request(operation: .listMultipartUploads, method: "GET", key: nil)
        r.query = [("uploads", ""), ("prefix", prefix), ("max-uploads", String(min(1000, max(1, maxUploads))))]
        if let keyMarker { r.query.append(("key-marker", keyMarker)) }
        if let uploadIDMarker { r.query.append(("upload-id-marker", uploadIDMarker)) }
        let body = try perform(r).body
        guard let root = S3XML.parse(body), root.name == "ListMultipartUploadsResult" else {
            throw .protocolError("ListMultipartUploads: the answer is not a ListMultipartUploadsResult document")
        }
        var uploads: [S3MultipartUpload] = []
        for u in root.children("Upload") {
            guard let key = u.value("Key"), let id = u.value("UploadId") else {
                throw .protocolError("ListMultipartUploads: an upload without Key or UploadId")
            }
            uploads.append(S3MultipartUpload(key: key, uploadID: id, initiated: u.value("Initiated")))
        }
        let nonEmpty: (String?) -> String? = { $0.flatMap { $0.isEmpty ? nil : $0 } }
        return S3UploadsPage(
            uploads: uploads, isTruncated: root.value("IsTruncated") == "true",
            nextKeyMarker: nonEmpty(root.value("NextKeyMarker")),
            nextUploadIDMarker: nonEmpty(root.value("NextUploadIdMarker")))
    }

    /// Every open multipart upload under `prefix`, following the markers.
    public func listAllMultipartUploads(prefix: String) throws(S3Error) -> [S3MultipartUpload] {
        var all: [S3MultipartUpload] = []
        var keyMarker: String?
        var idMarker: String?
        while true {
            let page = try listMultipartUploads(prefix: prefix, keyMarker: keyMarker, uploadIDMarker: idMarker)
            all += page.uploads
            guard page.isTruncated else { return all }
            guard page.nextKeyMarker != nil || page.nextUploadIDMarker != nil,
                page.nextKeyMarker != keyMarker || page.nextUploadIDMarker != idMarker
            else { throw .protocolError("ListMultipartUploads: truncated page without new markers") }
            keyMarker = page.nextKeyMarker
            idMarker = page.nextUploadIDMarker
        }
    }

    static func escapeXML(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}
