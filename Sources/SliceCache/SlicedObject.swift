//===----------------------------------------------------------------------===//
// ImageGate: the seam between the read cache and an object store: what was recorded about an object at import,
// and how its bytes are fetched.
//===----------------------------------------------------------------------===//
import GateCore

/// Where slice bytes come from (the S3 blob store's `S3SliceSource`; tests count calls on their own).
public protocol SliceSource: Sendable {
    /// Hands bytes [offset, offset+length) of object `key` to `deliver` in order, chunk by chunk as they arrive
    /// (blocking; called on a dedicated thread). `false` from `deliver` stops the transfer, and the call then
    /// throws. Throws GateError (.io with the store's reason) when the store fails or does not answer within
    /// its timeout. The cache writes and hashes each chunk as it comes, so a slice is never read back to be
    /// checked.
    func fetchRange(
        key: String, offset: UInt64, length: UInt64, deliver: (UnsafeRawBufferPointer) -> Bool
    ) throws(GateError)
}

/// What the catalog recorded at import about one stored object.
public struct SlicedObject: Sendable, Hashable, Codable {
    public let key: String  // the object key, e.g. PREFIX/images/<id>/<generation>
    public let size: UInt64
    public let sliceBytes: UInt64  // the slice size the digests were computed with
    public let sliceSHA256: [String]  // lowercase hex, one per slice (the last may be short)

    public init(key: String, size: UInt64, sliceBytes: UInt64, sliceSHA256: [String]) {
        self.key = key
        self.size = size
        self.sliceBytes = sliceBytes
        self.sliceSHA256 = sliceSHA256
    }

    /// How many slices `size` bytes make at `sliceBytes` each (the last one may be short).
    public static func sliceCount(size: UInt64, sliceBytes: UInt64) -> Int {
        sliceBytes == 0 ? 0 : Int((size + sliceBytes - 1) / sliceBytes)
    }

    var sliceCount: Int { Self.sliceCount(size: size, sliceBytes: sliceBytes) }

    /// Where slice `index` lies in the object.
    func slice(_ index: Int) -> (offset: UInt64, length: UInt64) {
        let offset = UInt64(index) * sliceBytes
        return (offset, min(sliceBytes, size - offset))
    }

    /// A record the cache cannot serve from: no slice size, or not one digest per slice. Caught when the reader
    /// is made, so a broken record is one clear error instead of a fault at some offset.
    func validate() throws(GateError) {
        guard sliceBytes > 0 else { throw .internal("object \(key): recorded slice size is 0") }
        guard sliceSHA256.count == sliceCount else {
            throw .internal("object \(key): \(sliceSHA256.count) slice digests recorded for \(sliceCount) slices")
        }
    }
}
