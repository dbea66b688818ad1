//===----------------------------------------------------------------------===//
// ImageGate: what the catalog records at import about one stored object: its key, size and per-slice SHA-256.
//===----------------------------------------------------------------------===//

/// One finished image object as its import recorded it. The read cache verifies every slice it fetches
/// against `sliceSHA256` before caching it, so the digests must come from the catalog, never the store.
///
/// The same type (field for field) is the `SliceCache` target's input; until both are merged it is defined here.
public struct SlicedObject: Sendable, Hashable, Codable {
    /// The object key, `PREFIX/images/<image-id>/<generation>`.
    public let key: String
    public let size: UInt64
    /// The slice size the digests were computed with (`cache.slice_bytes` at import time).
    public let sliceBytes: UInt64
    /// Lower-case hex, one per slice (the last one may be short).
    public let sliceSHA256: [String]

    public init(key: String, size: UInt64, sliceBytes: UInt64, sliceSHA256: [String]) {
        self.key = key
        self.size = size
        self.sliceBytes = sliceBytes
        self.sliceSHA256 = sliceSHA256
    }
}
