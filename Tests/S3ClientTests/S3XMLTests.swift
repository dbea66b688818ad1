//===----------------------------------------------------------------------===//
// ImageGate: the small XML reader, S3 error documents, listings, and the error classification.
//===----------------------------------------------------------------------===//

import GateCore
import Testing

@testable import S3Client

@Suite struct S3XMLTests {
    @Test("an S3 <Error> document: code, message, request id")
    func errorDocument() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist &amp; never did</Message>\
            <Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>
            """
        let doc = try #require(S3ErrorDocument(Array(text.utf8)))
        #expect(doc.code == "NoSuchKey" && doc.requestID == "4442587FB7D0A2F9")
        #expect(doc.message == "The resource you requested does not exist & never did")
        #expect(S3ErrorDocument(Array("<Error><Message>x</Message></Error>".utf8)) == nil)
        #expect(S3ErrorDocument(Array("not xml".utf8)) == nil)
        #expect(S3ErrorDocument([]) == nil)
    }

    @Test("a ListBucketResult page with namespaces, entities, CDATA and comments")
    func listPage() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment -->
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
              <IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>
              <Contents><Key>p/a &lt;1&gt; &#233;&#x20AC;</Key><Size>10</Size><ETag>&quot;abc&quot;</ETag>\
            <LastModified>2026-12-07T04:00:00.000Z</LastModified></Contents>
              <Contents><Key><![CDATA[p/b&c]]></Key><Size>0</Size><Owner><ID>x</ID></Owner></Contents>
            </ListBucketResult>
            """
        let page = try S3Client.parseListPage(Array(text.utf8))
        #expect(page.isTruncated && page.nextContinuationToken == "tok/+=")
        #expect(page.objects.map(\.key) == ["p/a <1> \u{e9}\u{20ac}", "p/b&c"])
        #expect(page.objects[0].size == 10 && page.objects[0].etag == "\"abc\"" && page.objects[1].etag == nil)
    }

    @Test(
        "malformed XML is refused, not guessed",
        arguments: [
            "<a><b></a></b>", "<a>", "<a></a><b></b>", "<a>&unknown;</a>", "<a>&#0;</a>", "<a attr=\"x></a>",
            "text", "<a></a>trailing", "</a>",
        ])
    func malformed(_ text: String) {
        #expect(S3XML.parse(text) == nil)
    }

    @Test("nesting deeper than the limit is refused")
    func depth() {
        let deep = String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40)
        #expect(S3XML.parse(deep) == nil)
        let ok = String(repeating: "<a>", count: 10) + String(repeating: "</a>", count: 10)
        #expect(S3XML.parse(ok) != nil)
    }

    @Test(
        "codes win over statuses; without a code the status decides",
        arguments: [
            ("NoSuchKey", 404, S3Error.Kind.notFound), ("NoSuchUpload", 404, .notFound),
            ("NoSuchBucket", 404, .noSuchBucket), ("AccessDenied", 403, .accessDenied),
            ("InvalidAccessKeyId", 403, .invalidCredentials), ("SignatureDoesNotMatch", 403, .invalidCredentials),
            ("ExpiredToken", 400, .invalidCredentials), ("SlowDown", 503, .slowDown),
            ("InternalError", 500, .unavailable), ("ServiceUnavailable", 503, .unavailable),
            ("InvalidRange", 416, .rejected), ("EntityTooSmall", 400, .rejected),
        ])
    func kinds(code: String, status: Int, kind: S3Error.Kind) {
        #expect(S3Error.kind(s3Code: code, status: status) == kind)
    }

    @Test(
        "statuses without a code",
        arguments: [
            (404, S3Error.Kind.notFound), (403, .accessDenied), (401, .invalidCredentials),
            (503, .unavailable), (502, .unavailable), (429, .slowDown), (400, .rejected), (301, .rejected),
        ])
    func statuses(status: Int, kind: S3Error.Kind) {
        #expect(S3Error.kind(s3Code: nil, status: status) == kind)
    }

    @Test("each kind maps to one GateError code; only a missing object is notFound")
    func gateErrors() {
        for kind in S3Error.Kind.allCases {
            let e = S3Error(kind, "m", s3Code: "C", httpStatus: 500, requestID: "R")
            let expected: GateError.Code =
                switch kind {
                case .notFound: .notFound
                case .configuration: .usage
                default: .io
                }
            #expect(e.gateError.code == expected)
        }
        let e = S3Error(
            .slowDown, "GetObject k: reduce your rate", s3Code: "SlowDown", httpStatus: 503, requestID: "R1")
        #expect("\(e)" == "GetObject k: reduce your rate (SlowDown, HTTP 503, request R1)")
        #expect(e.isTransient && !S3Error(.accessDenied, "x").isTransient)
    }
}
