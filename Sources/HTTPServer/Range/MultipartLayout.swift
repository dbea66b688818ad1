//===----------------------------------------------------------------------===//
// ImageGate: precomputed multipart/byteranges body layout (RFC 9110 §14.6, §15.3.7.2; RFC 2046 §5.1.1).
//===----------------------------------------------------------------------===//

/// Layout of a multipart/byteranges body (RFC 9110 §14.6) computed up front so Content-Length is exact and
/// bodies stream from the file without buffering any range.
///
/// The body is, for ranges `a0-b0`, `a1-b1`, ... of a `len`-byte representation:
///
///     "--B" CRLF "Content-Type: T" CRLF "Content-Range: bytes a0-b0/len" CRLF CRLF  <file bytes a0...b0>
///     CRLF "--B" CRLF "Content-Type: T" CRLF "Content-Range: bytes a1-b1/len" CRLF CRLF  <file bytes a1...b1>
///     CRLF "--B--" CRLF
///
/// The first delimiter needs no leading CRLF because it starts the body (RFC 2046 §5.1.1: the CRLF belongs to
/// the delimiter, and an empty preamble may be omitted). The CRLF that ends each part is merged with the next
/// delimiter into one `.bytes` piece, so pieces strictly alternate `.bytes`, `.fileRange`, ..., `.bytes`.
public struct MultipartLayout: Sendable, Equatable {
    /// One contiguous slice of the body: literal bytes, or bytes to be read from the representation.
    public enum Piece: Sendable, Equatable {
        case bytes([UInt8])
        case fileRange(offset: UInt64, length: UInt64)

        /// Octets this piece contributes to the body.
        public var length: UInt64 {
            switch self {
            case .bytes(let bytes): UInt64(bytes.count)
            case .fileRange(_, let length): length
            }
        }
    }

    public let boundary: String
    /// Part header bytes, file range, ..., closing delimiter bytes.
    public let pieces: [Piece]
    /// Exact sum of all pieces, for the Content-Length header (never chunked, Docs/protocols.md §1.1).
    public let contentLength: UInt64

    /// `multipart/byteranges; boundary=<boundary>`, for the top-level Content-Type. The top-level response
    /// MUST NOT carry Content-Range (RFC 9110 §15.3.7.2).
    public var contentType: String { "multipart/byteranges; boundary=\(boundary)" }

    /// - Parameters:
    ///   - ranges: the parts in sending order, as returned in ``RangeDecision/multiple(_:)``; each must lie
    ///     inside `0..<totalLength`.
    ///   - totalLength: the complete length of the representation (the `/len` of each Content-Range).
    ///   - partContentType: the representation's media type, repeated in every part; an empty string omits the
    ///     part Content-Type line.
    ///   - boundary: 1-70 characters that never occur in the data (RFC 2046 §5.1.1); see ``makeBoundary(_:)``.
    public init(ranges: [ClosedRange<UInt64>], totalLength: UInt64, partContentType: String, boundary: String) {
        precondition(!boundary.isEmpty && boundary.utf8.count <= 70, "RFC 2046 boundary must be 1-70 characters")
        self.boundary = boundary
        var pieces: [Piece] = []
        pieces.reserveCapacity(ranges.count * 2 + 1)
        var total: UInt64 = 0
        var header: [UInt8] = []
        for range in ranges {
            precondition(range.upperBound < totalLength, "range \(range) outside representation of \(totalLength)")
            if !pieces.isEmpty { header.append(contentsOf: Self.crlf) }
            header.append(contentsOf: "--\(boundary)\r\n".utf8)
            if !partContentType.isEmpty { header.append(contentsOf: "Content-Type: \(partContentType)\r\n".utf8) }
            let contentRange = ContentRange.satisfied(
                first: range.lowerBound,
                last: range.upperBound,
                length: totalLength
            )
            header.append(contentsOf: "Content-Range: \(contentRange)\r\n\r\n".utf8)
            let part = range.upperBound - range.lowerBound + 1
            total += UInt64(header.count) + part
            pieces.append(.bytes(header))
            pieces.append(.fileRange(offset: range.lowerBound, length: part))
            header.removeAll(keepingCapacity: true)
        }
        if !pieces.isEmpty { header.append(contentsOf: Self.crlf) }
        header.append(contentsOf: "--\(boundary)--\r\n".utf8)
        total += UInt64(header.count)
        pieces.append(.bytes(header))
        self.pieces = pieces
        self.contentLength = total
    }

    /// A boundary from 64 random bits, e.g. `imagegate-00c0ffee12345678`. Image data is binary, so the chance
    /// that the delimiter line occurs inside a part is negligible at this length; use a fresh value per response.
    public static func makeBoundary(_ random: UInt64) -> String {
        let hex = String(random, radix: 16)
        return "imagegate-" + String(repeating: "0", count: 16 - hex.utf8.count) + hex
    }

    private static let crlf: [UInt8] = [0x0D, 0x0A]
}
