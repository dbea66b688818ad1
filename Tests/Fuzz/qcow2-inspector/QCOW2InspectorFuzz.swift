//===----------------------------------------------------------------------===//
// ImageGate fuzz target: the streaming inspector on a declared QCOW2 image (Docs/testing.md).
//===----------------------------------------------------------------------===//
import ImageInspection

/// The input is the image; the first byte chooses the chunk size it is fed in (decisions must not depend on
/// chunking, so a second inspector fed in one piece must reach the same verdict).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQCOW2Inspector(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let image = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let step = Int(data[0]) * 7 + 1
    let limits = InspectionLimits(maxVirtualSize: 1 << 40, allowEncrypted: data[0] & 1 == 1)
    var chunked = ImageInspector(declared: .qcow2, limits: limits)
    var offset = 0
    while offset < image.count {
        let end = min(image.count, offset + step)
        if chunked.feed(UnsafeRawBufferPointer(rebasing: image[offset..<end])) != nil { break }
        offset = end
    }
    var whole = ImageInspector(declared: .qcow2, limits: limits)
    _ = whole.feed(image)
    let a = chunked.finish(totalSize: UInt64(image.count))
    let b = whole.finish(totalSize: UInt64(image.count))
    precondition(a == b, "chunking changed the verdict: \(a) vs \(b)")
    return 0
}
