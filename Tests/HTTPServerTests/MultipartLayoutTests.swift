//===----------------------------------------------------------------------===//
// ImageGate: MultipartLayout tests: exact wire bytes and Content-Length of multipart/byteranges bodies.
//===----------------------------------------------------------------------===//

import Testing

@testable import HTTPServer

private let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRST".utf8)

/// Concatenates the pieces the way the connection writer streams them.
private func render(_ layout: MultipartLayout, file: [UInt8]) -> [UInt8] {
    layout.pieces.flatMap { piece -> [UInt8] in
        switch piece {
        case .bytes(let bytes): bytes
        case .fileRange(let offset, let length): Array(file[Int(offset)..<Int(offset + length)])
        }
    }
}

@Suite("MultipartLayout")
struct MultipartLayoutTests {
    @Test("two parts: exact bytes, Content-Length and Content-Type")
    func twoParts() {
        let layout = MultipartLayout(
            ranges: [0...1, 5...7],
            totalLength: 20,
            partContentType: "application/octet-stream",
            boundary: "B"
        )
        let expected =
            "--B\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/20\r\n\r\nAB"
            + "\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 5-7/20\r\n\r\nFGH"
            + "\r\n--B--\r\n"
        let body = render(layout, file: alphabet)
        #expect(String(decoding: body, as: UTF8.self) == expected)
        #expect(layout.contentLength == UInt64(expected.utf8.count))
        #expect(layout.contentType == "multipart/byteranges; boundary=B")
        #expect(layout.boundary == "B")
    }

    @Test("pieces alternate bytes and file ranges, file ranges in order")
    func pieceShape() {
        let layout = MultipartLayout(
            ranges: [0...1, 5...7, 19...19],
            totalLength: 20,
            partContentType: "image/png",
            boundary: "xyz"
        )
        #expect(layout.pieces.count == 7)
        let fileRanges = layout.pieces.compactMap { piece -> [UInt64]? in
            if case .fileRange(let offset, let length) = piece { return [offset, length] }
            return nil
        }
        #expect(fileRanges == [[0, 2], [5, 3], [19, 1]])
        for (index, piece) in layout.pieces.enumerated() {
            if case .bytes = piece { #expect(index % 2 == 0) } else { #expect(index % 2 == 1) }
        }
        #expect(layout.pieces.last == .bytes(Array("\r\n--xyz--\r\n".utf8)))
        #expect(layout.contentLength == layout.pieces.reduce(0) { $0 + $1.length })
        #expect(UInt64(render(layout, file: alphabet).count) == layout.contentLength)
    }

    @Test("an empty part content type omits the part Content-Type line")
    func noPartContentType() {
        let layout = MultipartLayout(ranges: [0...0, 2...2], totalLength: 3, partContentType: "", boundary: "b")
        let expected =
            "--b\r\nContent-Range: bytes 0-0/3\r\n\r\nA"
            + "\r\n--b\r\nContent-Range: bytes 2-2/3\r\n\r\nC"
            + "\r\n--b--\r\n"
        #expect(String(decoding: render(layout, file: Array("ABC".utf8)), as: UTF8.self) == expected)
        #expect(layout.contentLength == UInt64(expected.utf8.count))
    }

    @Test("Content-Length of multi-GB parts is computed, not buffered")
    func largeParts() {
        let total: UInt64 = 10_000_000_000
        let ranges: [ClosedRange<UInt64>] = [0...4_999_999_999, 9_000_000_000...9_999_999_999]
        let layout = MultipartLayout(
            ranges: ranges,
            totalLength: total,
            partContentType: "application/octet-stream",
            boundary: "B"
        )
        let head0 =
            "--B\r\nContent-Type: application/octet-stream\r\n"
            + "Content-Range: bytes 0-4999999999/10000000000\r\n\r\n"
        let head1 =
            "\r\n--B\r\nContent-Type: application/octet-stream\r\n"
            + "Content-Range: bytes 9000000000-9999999999/10000000000\r\n\r\n"
        let tail = "\r\n--B--\r\n"
        let overhead = UInt64(head0.utf8.count + head1.utf8.count + tail.utf8.count)
        #expect(layout.contentLength == 5_000_000_000 + 1_000_000_000 + overhead)
        #expect(
            layout.pieces == [
                .bytes(Array(head0.utf8)), .fileRange(offset: 0, length: 5_000_000_000),
                .bytes(Array(head1.utf8)), .fileRange(offset: 9_000_000_000, length: 1_000_000_000),
                .bytes(Array(tail.utf8)),
            ]
        )
    }

    @Test("a resolver decision feeds the layout directly")
    func fromResolver() {
        guard case .multiple(let ranges) = RangeResolver.resolve("bytes=-3, 0-1, 1-2", length: 20) else {
            Issue.record("expected a multipart decision")
            return
        }
        let layout = MultipartLayout(ranges: ranges, totalLength: 20, partContentType: "text/plain", boundary: "q")
        let body = String(decoding: render(layout, file: alphabet), as: UTF8.self)
        #expect(body.contains("Content-Range: bytes 0-2/20\r\n\r\nABC\r\n"))
        #expect(body.contains("Content-Range: bytes 17-19/20\r\n\r\nRST\r\n--q--\r\n"))
        #expect(UInt64(body.utf8.count) == layout.contentLength)
    }

    @Test(
        "makeBoundary is fixed-width lowercase hex",
        arguments: [
            (UInt64(0), "imagegate-0000000000000000"),
            (0xc0ffee, "imagegate-0000000000c0ffee"),
            (UInt64.max, "imagegate-ffffffffffffffff"),
        ]
    )
    func boundary(random: UInt64, expected: String) {
        #expect(MultipartLayout.makeBoundary(random) == expected)
    }
}
