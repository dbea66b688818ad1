//===----------------------------------------------------------------------===//
// ImageGate: ConditionalRequest tests: Docs/protocols.md §1.2 ordering and the §1.5 method/If-Range cases.
//===----------------------------------------------------------------------===//

import GateCore
import Testing

@testable import HTTPServer

private let fileLength: UInt64 = 10_000_000_000
private let etag = "\"img-7-1-abcd\""
private let lastModified: Int64 = 1_700_000_000
private let validators = Validators(etag: etag, lastModified: lastModified, date: lastModified + 100)

enum Method: Sendable { case get, head, post }

@Suite("ConditionalRequest")
struct ConditionalRequestTests {
    @Test(
        "Docs/protocols.md §1.5 method, If-Range and precondition cases",
        arguments: [
            (Method.get, ConditionalHeaders(), ConditionalRequest.Outcome.serve(.full)),
            (.head, ConditionalHeaders(), .serve(.full)),
            // Range is defined only for GET (RFC 9110 §14.2): HEAD + Range → 200 with the full Content-Length.
            (.head, ConditionalHeaders(range: "bytes=0-9"), .serve(.full)),
            (.post, ConditionalHeaders(range: "bytes=0-9"), .serve(.full)),
            (.get, ConditionalHeaders(range: "bytes=0-9"), .serve(.single(first: 0, last: 9))),
            (
                .get, ConditionalHeaders(range: "bytes=100-", ifRange: etag),
                .serve(.single(first: 100, last: fileLength - 1))
            ),
            (.get, ConditionalHeaders(range: "bytes=100-", ifRange: "\"stale\""), .serve(.full)),
            (.get, ConditionalHeaders(range: "bytes=100-", ifRange: "W/\(etag)"), .serve(.full)),
            (
                .get, ConditionalHeaders(range: "bytes=100-", ifRange: TimeFormat.httpDate(lastModified)),
                .serve(.single(first: 100, last: fileLength - 1))
            ),
            (
                .get, ConditionalHeaders(range: "bytes=100-", ifRange: TimeFormat.httpDate(lastModified - 1)),
                .serve(.full)
            ),
            // If-Range without Range is ignored, even when it would be false.
            (.get, ConditionalHeaders(ifRange: "\"stale\""), .serve(.full)),
            // A false If-Range wins even over an unsatisfiable range: the client gets the whole new representation.
            (.get, ConditionalHeaders(range: "bytes=10000000000-", ifRange: "\"stale\""), .serve(.full)),
            (.get, ConditionalHeaders(range: "bytes=10000000000-", ifRange: etag), .serve(.unsatisfiable)),
            // 304/412 win over Range and If-Range.
            (.get, ConditionalHeaders(range: "bytes=0-9", ifNoneMatch: etag), .notModified),
            (.head, ConditionalHeaders(range: "bytes=0-9", ifNoneMatch: etag), .notModified),
            (.get, ConditionalHeaders(range: "bytes=0-9", ifMatch: "\"stale\""), .preconditionFailed),
            (
                .get, ConditionalHeaders(range: "bytes=0-9", ifRange: "\"stale\"", ifMatch: etag),
                .serve(.full)
            ),
            (
                .get,
                ConditionalHeaders(range: "bytes=10000000000-", ifModifiedSince: TimeFormat.httpDate(lastModified)),
                .notModified
            ),
            (.post, ConditionalHeaders(ifNoneMatch: "*"), .preconditionFailed),
        ] as [(Method, ConditionalHeaders, ConditionalRequest.Outcome)]
    )
    func decide(method: Method, headers: ConditionalHeaders, expected: ConditionalRequest.Outcome) {
        let outcome = ConditionalRequest.decide(
            isGet: method == .get,
            isHead: method == .head,
            headers: headers,
            validators: validators,
            length: fileLength
        )
        #expect(outcome == expected)
    }

    @Test("maxRanges is forwarded")
    func maxRangesForwarded() {
        let headers = ConditionalHeaders(range: "bytes=0-9,20-29")
        #expect(
            ConditionalRequest.decide(
                isGet: true,
                isHead: false,
                headers: headers,
                validators: validators,
                length: fileLength,
                maxRanges: 1
            ) == .serve(.unsatisfiable)
        )
        #expect(
            ConditionalRequest.decide(
                isGet: true,
                isHead: false,
                headers: headers,
                validators: validators,
                length: fileLength
            ) == .serve(.multiple([0...9, 20...29]))
        )
    }
}

/// `decide(head:)` reads the fields from the head's bytes and skips the preconditions when no field starts with
/// "If-"; it must answer what the field-by-field `decide` answers for the same request, for every combination.
@Suite("ConditionalRequest from a head")
struct ConditionalRequestFromHeadTests {
    @Test func sameOutcomeAsTheFieldByFieldDecision() throws {
        let ranges: [String?] = [nil, "bytes=0-9", "bytes=5-1", "bytes=0-1,4-5", "bytes=99999999999-", "lines=1-2"]
        let optional: [(String, [String?])] = [
            ("If-Range", [nil, etag, "\"other\""]),
            ("IF-NONE-MATCH", [nil, etag, "\"other\""]),
            ("If-Match", [nil, "\"other\""]),
            ("if-modified-since", [nil, "Sun, 06 Nov 1994 08:49:37 GMT"]),
            ("If-Unmodified-Since", [nil, "Sun, 06 Nov 1994 08:49:37 GMT"]),
        ]
        var combinations: [[String?]] = [[]]
        for (_, values) in optional { combinations = combinations.flatMap { c in values.map { c + [$0] } } }
        for method in ["GET", "HEAD", "POST"] {
            for range in ranges {
                for values in combinations {
                    var raw = "\(method) /d/t/f HTTP/1.1\r\nHost: h\r\n"
                    if let range { raw += "Range: \(range)\r\n" }
                    for ((name, _), value) in zip(optional, values) {
                        if let value { raw += "\(name): \(value)\r\n" }
                    }
                    raw += "\r\n"
                    let head = try #require(parse(raw).head)
                    let fields = ConditionalHeaders(
                        range: range, ifRange: values[0], ifMatch: values[2], ifNoneMatch: values[1],
                        ifModifiedSince: values[3], ifUnmodifiedSince: values[4])
                    let expected = ConditionalRequest.decide(
                        isGet: method == "GET", isHead: method == "HEAD", headers: fields, validators: validators,
                        length: fileLength)
                    #expect(
                        ConditionalRequest.decide(head: head, validators: validators, length: fileLength) == expected,
                        "\(raw)")
                }
            }
        }
    }
}
