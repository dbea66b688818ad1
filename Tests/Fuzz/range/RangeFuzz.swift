//===----------------------------------------------------------------------===//
// ImageGate fuzz target: Range, If-Range and the other conditional fields (Docs/testing.md).
//===----------------------------------------------------------------------===//
import HTTPServer

/// Input: 8 bytes of representation length (big-endian, small values favoured), then the Range value; a NUL
/// splits off an If-Match/If-None-Match list checked against a fixed entity-tag. Checks the promises of
/// `RangeDecision` (bounds inside the representation, multipart sorted and disjoint) and of the layout built from it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRange(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard input.count >= 8 else { return 0 }
    var length: UInt64 = 0
    for b in input[0..<8] { length = length << 8 | UInt64(b) }
    if input[0] != 0xFF { length %= 1 << 20 }  // mostly small files, sometimes anything up to UInt64.max
    let text = input[8...]
    let split = text.firstIndex(of: 0) ?? text.endIndex
    let header = String(decoding: text[..<split], as: UTF8.self)
    let tags = split < text.endIndex ? String(decoding: text[(split + 1)...], as: UTF8.self) : nil

    switch RangeResolver.resolve(header, length: length, maxRanges: 16) {
    case .full, .unsatisfiable:
        break
    case .single(let first, let last):
        precondition(first <= last && last < length, "single \(first)-\(last) of \(length)")
    case .multiple(let parts):
        precondition(parts.count >= 2 && parts.count <= 16)
        for (a, b) in zip(parts, parts.dropFirst()) {
            precondition(a.upperBound + 1 < b.lowerBound, "parts overlap or touch: \(a) \(b)")
        }
        precondition(parts.last!.upperBound < length)
        let layout = MultipartLayout(
            ranges: parts, totalLength: length, partContentType: "application/octet-stream",
            boundary: MultipartLayout.makeBoundary(UInt64(size)))
        precondition(layout.contentLength == layout.pieces.reduce(0) { $0 + $1.length })
    }

    let validators = Validators(etag: "\"img-1-abcd\"", lastModified: 1_700_000_000, date: 1_700_000_100)
    _ = Preconditions.ifRangeAllows(header, validators: validators)
    if let tags {
        _ = Preconditions.evaluate(
            isGetOrHead: true, ifMatch: tags, ifNoneMatch: tags, ifModifiedSince: header, ifUnmodifiedSince: header,
            validators: validators)
    }
    return 0
}
