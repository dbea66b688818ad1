//===----------------------------------------------------------------------===//
// ImageGate: the hot path's shortcuts give the same answers as the general code they replace (issue 17).
//===----------------------------------------------------------------------===//
@testable import HTTPServer
import Testing

@Suite("hot path shortcuts")
struct HotPathTests {
    /// The or-reduced byte test of `isPlain` against the rule it stands for, for every byte value.
    @Test func plainSegmentAcceptsExactlyPrintableASCIIWithoutPercentOrBackslash() {
        for b in 0...255 {
            let byte = UInt8(b)
            let expected = byte > 0x20 && byte < 0x7F && byte != 0x25 && byte != 0x5C
            for raw in [[byte], [0x61, byte, 0x62], Array(repeating: 0x61, count: 40) + [byte]] {
                let got = raw.withUnsafeBytes { PathDecoder.isPlain($0) }
                #expect(got == (expected && raw != [0x2E]), "byte \(b)")
            }
        }
    }

    /// The byte-range head answers what the String accessors answer: lookups ignore the case of the received
    /// name, the path and query are the parser's, and the byte accessors agree with the Strings.
    @Test func headBytesAgreeWithTheStrings() throws {
        let raw = "GET /d/tok/f.img?digest=off HTTP/1.1\r\nHOST: h:1\r\nRange:  bytes=0-9 \r\nX-A: 1\r\nx-a: 2\r\n\r\n"
        let head = try #require(Array(raw.utf8).withUnsafeBytes { RequestParser().parse($0) }.headForTest)
        #expect(head.method == "GET" && head.path == "/d/tok/f.img" && head.query == "digest=off")
        #expect(head.target == "/d/tok/f.img?digest=off")
        #expect(head.header("range") == "bytes=0-9" && head.header("host") == "h:1")
        #expect(head.headers("x-a") == ["1", "2"])
        #expect(head.headers.map(\.name) == ["host", "range", "x-a", "x-a"])
        #expect(head.withHeader("range") { $0.map { Array($0) } } == Array("bytes=0-9".utf8))
        #expect(head.withHeader("if-range") { $0 == nil })
        #expect(head.pathHasPrefix("/d/") && !head.pathHasPrefix("/d/tok/f.img?") && head.pathEquals("/d/tok/f.img"))
        #expect(head.withQuery { $0.map { Array($0) } } == Array("digest=off".utf8))
    }

    /// More fields than the parser's stack table holds are scanned again with a heap table, same result.
    @Test func headWithMoreFieldsThanTheStackTable() throws {
        var raw = "GET / HTTP/1.1\r\nHost: h\r\n"
        for k in 0..<(RequestParser.stackFields + 5) { raw += "X-\(k): \(k)\r\n" }
        raw += "\r\n"
        let head = try #require(Array(raw.utf8).withUnsafeBytes { RequestParser().parse($0) }.headForTest)
        #expect(head.fieldCount == RequestParser.stackFields + 6)
        #expect(head.header("x-68") == "68" && head.header("host") == "h")
    }

    /// `withSegments` decodes in place: segments as bytes, the same as `segments(_:)`'s Strings.
    @Test func segmentsAsBytes() {
        let path = Array("/d/a%20b/%C3%A9t%C3%A9".utf8)
        let strings = path.withUnsafeBytes { p in
            PathDecoder.withSegments(p) { s in s.map { s in (0..<s.count).map { s.string($0) } } }
        }
        #expect(strings == ["d", "a b", "été"])
        #expect(strings == PathDecoder.segments("/d/a%20b/%C3%A9t%C3%A9"))
        #expect(
            path.withUnsafeBytes { p in PathDecoder.withSegments(p) { $0!.equals(0, "d") && $0!.equals(1, "a b") } })
    }

    /// The bulk target scan (memchr for the space, then one or-reduced check) against the byte rule, for every
    /// byte value in a short and in a long target (the long one runs the vector loops).
    @Test func targetScanAcceptsExactlyTheTargetBytes() {
        for long in [false, true] {
            for b in 0...255 {
                let byte = UInt8(b)
                let pad = long ? Array(repeating: UInt8(ascii: "x"), count: 150) : []
                let target: [UInt8] = Array("/a".utf8) + pad + [byte] + Array("c/d".utf8)
                let request = Array("GET ".utf8) + target + Array(" HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
                let result = request.withUnsafeBytes { RequestParser().parse($0) }
                let expectHead = byte > 0x20 && byte < 0x7F && byte != 0x23
                switch result {
                case .head(let head, _):
                    #expect(expectHead, "byte \(b)")
                    if byte == UInt8(ascii: "?") {
                        #expect(head.path == "/a" + String(repeating: "x", count: pad.count))
                        #expect(head.query == "c/d")
                    } else {
                        #expect(head.path == String(decoding: target, as: UTF8.self) && head.query == nil)
                    }
                case .failure: #expect(!expectHead, "byte \(b)")
                case .needMore: Issue.record("byte \(b): needMore on a complete head")
                }
            }
        }
    }

    @Test func pathSegmentsSplitAtEverySlash() {
        #expect(PathDecoder.segments("/d/" + String(repeating: "t", count: 175) + "/f.img")?.count == 3)
        #expect(PathDecoder.segments("/a") == ["a"])
        #expect(PathDecoder.segments("/") == [])
        #expect(PathDecoder.segments("/a/") == nil)
        #expect(PathDecoder.segments("/a//b") == nil)
        #expect(PathDecoder.segments("//") == nil)
    }

    @Test func contentRangeIsWrittenAfterTheBlockAndBeforeTheOtherFields() {
        let r = Response(
            status: 206, headerBlock: HeaderBlock([("ETag", "\"e\"")]),
            contentRange: SatisfiedRange(first: 0, last: 9_999_999_999, complete: 10_000_000_000),
            headers: [("X-A", "b")], body: [.bytes([1, 2, 3])])
        let head = String(
            decoding: ResponseHeadWriter.serialize(r, version: .http11, date: "D", keepAlive: true), as: UTF8.self)
        #expect(
            head
                == "HTTP/1.1 206 Partial Content\r\nDate: D\r\nETag: \"e\"\r\n"
                + "Content-Range: bytes 0-9999999999/10000000000\r\nX-A: b\r\nContent-Length: 3\r\n\r\n")
    }

    /// The head is written into memory sized beforehand: the largest numbers, a field list longer than the stack's
    /// 1 KiB, an unsafe field dropped, HTTP/1.0 keep-alive; the bytes must be exactly the spelled-out head.
    @Test func headSizedBeforehandHoldsTheLargestHead() {
        let many = (0..<100).map { ("X-Field-\($0)", String(repeating: "v", count: 30)) }
        let r = Response(
            status: 206, headerBlock: HeaderBlock([("ETag", "\"e\"")]),
            contentRange: SatisfiedRange(first: UInt64.max - 1, last: UInt64.max, complete: UInt64.max),
            headers: many + [("Bad", "a\r\nb")], body: [.bytes([1])])
        var out: [UInt8] = Array(repeating: 7, count: 3)  // replaced, not appended to
        ResponseHeadWriter.serialize(r, version: .http10, date: "D", keepAlive: true, into: &out)
        let fields = many.map { "\($0.0): \($0.1)\r\n" }.joined()
        #expect(
            String(decoding: out, as: UTF8.self)
                == "HTTP/1.1 206 Partial Content\r\nDate: D\r\nETag: \"e\"\r\n"
                + "Content-Range: bytes \(UInt64.max - 1)-\(UInt64.max)/\(UInt64.max)\r\n" + fields
                + "Content-Length: 1\r\nConnection: keep-alive\r\n\r\n")
        let empty = Response(status: 204)
        ResponseHeadWriter.serialize(empty, version: .http11, date: "D", keepAlive: false, into: &out)
        #expect(
            String(decoding: out, as: UTF8.self) == "HTTP/1.1 204 No Content\r\nDate: D\r\nConnection: close\r\n\r\n")
    }

    @Test func headerLookupMatchesOnlyTheWholeName() {
        let head = RequestHead(
            method: "GET", target: "/", path: "/", query: nil, version: .http11,
            headers: [(name: "host", value: "h"), (name: "range", value: "bytes=0-1"), (name: "if-range", value: "x")],
            keepAlive: true, contentLength: 0, expectsContinue: false)
        #expect(head.header("range") == "bytes=0-1")
        #expect(head.header("if-range") == "x")
        #expect(head.header("rang") == nil)
        #expect(head.header("if-match") == nil)
        #expect(head.headers("host") == ["h"])
    }
}

extension ParseResult {
    fileprivate var headForTest: RequestHead? {
        if case .head(let head, _) = self { return head }
        return nil
    }
}
