//===----------------------------------------------------------------------===//
// ImageGate: CopyObject: a server-side copy inside the bucket (quarantine moves an object aside with it).
//===----------------------------------------------------------------------===//

extension S3Client {
    /// Copies `sourceKey` to `destinationKey` inside this bucket without the bytes passing through this
    /// process (`PUT /BUCKET/DEST` with `x-amz-copy-source`). S3 copies up to 5 GiB in one request; a larger
    /// source is `rejected` (`InvalidRequest`) by the store. Like CompleteMultipartUpload, the store may answer
    /// 200 with an `<Error>` document: that is thrown like any error. Returns the copy's ETag.
    @discardableResult
    public func copyObject(from sourceKey: String, to destinationKey: String) throws(S3Error) -> String {
        var r = Request(operation: .copyObject, method: "PUT", key: destinationKey)
        // The header value is `/BUCKET/KEY`, URL-encoded once (the key's `/` kept), as the reference says.
        r.headers = [("x-amz-copy-source", "/\(location.bucket)/" + S3URIEncoding.encode(sourceKey, keepSlash: true))]
        let response = try perform(r)
        if let failure = S3ErrorDocument(response.body) {
            throw S3Error(
                S3Error.kind(s3Code: failure.code, status: 500),
                "CopyObject \(sourceKey): \(failure.message ?? "failed")", s3Code: failure.code,
                httpStatus: response.status, requestID: failure.requestID)
        }
        guard let root = S3XML.parse(response.body), root.name == "CopyObjectResult" else {
            throw .protocolError(
                "CopyObject \(sourceKey): the answer is not a result document", status: response.status)
        }
        return root.value("ETag") ?? ""
    }
}
