//===----------------------------------------------------------------------===//
// ImageGate: a GET's answer is checked against the range asked for before any byte is delivered.
//===----------------------------------------------------------------------===//

import Testing

@testable import S3Client

@Suite struct S3ResponseCheckTests {
    static func headers(_ length: Int, _ contentRange: String? = nil) -> [String: String] {
        var h = ["etag": "\"e\"", "content-length": String(length), "last-modified": "Mon, 07 Dec 2026 04:00:00 GMT"]
        h["content-range"] = contentRange
        return h
    }

    @Test("a 206 whose Content-Range matches gives the whole object's size")
    func matching206() throws {
        let info = try S3Client.objectInfo(
            status: 206, headers: Self.headers(10, "bytes 100-109/5000"),
            range: S3ByteRange(offset: 100, length: 10)
        ).get()
        #expect(info.size == 5000 && info.etag == "\"e\"")
        let open = try S3Client.objectInfo(
            status: 206, headers: Self.headers(4900, "bytes 100-4999/5000"),
            range: S3ByteRange(first: 100)
        ).get()
        #expect(open.size == 5000)
        // A range running past the end is cut by the store: still the first byte asked for.
        let cut = try S3Client.objectInfo(
            status: 206, headers: Self.headers(5, "bytes 4995-4999/5000"),
            range: S3ByteRange(first: 4995, last: 6000)
        ).get()
        #expect(cut.size == 5000)
    }

    @Test(
        "answers that would deliver the wrong bytes are protocol errors",
        arguments: [
            (206, 10, "bytes 0-9/5000", S3ByteRange(offset: 100, length: 10)),  // another offset
            (206, 20, "bytes 100-119/5000", S3ByteRange(offset: 100, length: 10)),  // more than asked
            (206, 9, "bytes 100-109/5000", S3ByteRange(offset: 100, length: 10)),  // Content-Length disagrees
            (206, 10, "bytes */5000", S3ByteRange(offset: 100, length: 10)),  // unsatisfied form
            (206, 10, nil, S3ByteRange(offset: 100, length: 10)),  // no Content-Range
            (200, 5000, nil, S3ByteRange(offset: 100, length: 10)),  // Range ignored
            (200, 5000, nil, S3ByteRange(offset: 0, length: 10)),  // whole object larger than the range
        ] as [(Int, Int, String?, S3ByteRange)])
    func refused(status: Int, length: Int, contentRange: String?, range: S3ByteRange) {
        let result = S3Client.objectInfo(status: status, headers: Self.headers(length, contentRange), range: range)
        guard case .failure(let e) = result else {
            Issue.record("accepted \(status) \(contentRange ?? "-") for \(range)")
            return
        }
        #expect(e.kind == .protocol)
    }

    @Test("a 200 is accepted for a range from 0 that covers the whole object")
    func whole200() throws {
        let info = try S3Client.objectInfo(
            status: 200, headers: Self.headers(10), range: S3ByteRange(offset: 0, length: 16)
        ).get()
        #expect(info.size == 10)
        #expect(throws: S3Error.self) {
            try S3Client.objectInfo(status: 200, headers: ["content-length": "1"], range: nil).get()
        }
    }
}
