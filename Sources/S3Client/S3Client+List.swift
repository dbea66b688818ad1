//===----------------------------------------------------------------------===//
// ImageGate: ListObjectsV2, a page at a time or all pages.
//===----------------------------------------------------------------------===//

extension S3Client {
    /// One page of the keys under `prefix` in key order
    /// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html). `maxKeys` (1…1000) caps the
    /// page; pass the page's `nextContinuationToken` back to get the next.
    public func listObjectsV2(
        prefix: String, continuationToken: String? = nil, startAfter: String? = nil, maxKeys: Int = 1000
    ) throws(S3Error) -> S3ListPage {
        var r = Request(operation: .listObjectsV2, method: "GET", key: nil)
        r.query = [("list-type", "2"), ("prefix", prefix), ("max-keys", String(min(1000, max(1, maxKeys))))]
        if let continuationToken { r.query.append(("continuation-token", continuationToken)) }
        if let startAfter { r.query.append(("start-after", startAfter)) }
        let body = try perform(r).body
        return try Self.parseListPage(body)
    }

    /// Every key under `prefix`, following continuation tokens. A store that says "truncated" without a
    /// token (or repeats one) is a protocol error rather than an endless loop.
    public func listAllObjects(prefix: String, pageSize: Int = 1000) throws(S3Error) -> [S3ObjectSummary] {
        var all: [S3ObjectSummary] = []
        var token: String?
        var seen: Set<String> = []
        while true {
            let page = try listObjectsV2(prefix: prefix, continuationToken: token, maxKeys: pageSize)
            all += page.objects
            guard page.isTruncated else { return all }
            guard let next = page.nextContinuationToken, seen.insert(next).inserted else {
                throw .protocolError("ListObjectsV2: truncated page without a new continuation token")
            }
            token = next
        }
    }

    static func parseListPage(_ body: [UInt8]) throws(S3Error) -> S3ListPage {
        guard let root = S3XML.parse(body), root.name == "ListBucketResult" else {
            throw .protocolError("ListObjectsV2: the answer is not a ListBucketResult document")
        }
        var objects: [S3ObjectSummary] = []
        for entry in root.children("Contents") {
            guard let key = entry.value("Key"), let size = entry.value("Size").flatMap({ UInt64($0) }) else {
                throw .protocolError("ListObjectsV2: an entry without Key or Size")
            }
            objects.append(
                S3ObjectSummary(
                    key: key, size: size, etag: entry.value("ETag"), lastModified: entry.value("LastModified")))
        }
        let truncated = root.value("IsTruncated") == "true"
        let token = root.value("NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 }
        return S3ListPage(objects: objects, isTruncated: truncated, nextContinuationToken: token)
    }
}
