//===----------------------------------------------------------------------===//
// ImageGate fuzz target: the streaming inspector on a declared ISO image (Docs/testing.md).
//===----------------------------------------------------------------------===//
import ImageInspection

/// The input is the descriptor area from sector 16 on (32 KiB of system area are prepended, so the corpus stays
/// small); the first byte chooses the chunk size and whether the image is declared ISO or RAW. Chunking must not
/// change the verdict.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzISOInspector(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    var image = [UInt8](repeating: 0, count: 32 * 1024)
    image.append(contentsOf: UnsafeBufferPointer(start: data + 1, count: size - 1))
    let declared: DeclaredKind = data[0] & 0x80 == 0 ? .iso : .raw
    let step = Int(data[0] & 0x7F) * 97 + 1
    let limits = InspectionLimits(maxVirtualSize: 1 << 40)
    var chunked = ImageInspector(declared: declared, limits: limits)
    var offset = 0
    while offset < image.count {
        let end = min(image.count, offset + step)
        if chunked.feed(Array(image[offset..<end])) != nil { break }
        offset = end
    }
    var whole = ImageInspector(declared: declared, limits: limits)
    _ = whole.feed(image)
    let a = chunked.finish(totalSize: UInt64(image.count))
    let b = whole.finish(totalSize: UInt64(image.count))
    precondition(a == b, "chunking changed the verdict: \(a) vs \(b)")
    return 0
}
