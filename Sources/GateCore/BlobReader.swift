//===----------------------------------------------------------------------===//
// ImageGate: reading one stored image version: what every download front sends bytes from.
//===----------------------------------------------------------------------===//

/// One version of an image's bytes. Blobs are immutable per version: a new upload makes a new image, and
/// delete/restore bump the generation without changing the bytes, so (image, generation) names bytes that
/// never change (Docs/architecture.md, "Blob storage").
public struct BlobVersion: Hashable, Sendable {
    public let image: ImageID
    public let generation: UInt32
    public init(image: ImageID, generation: UInt32) {
        self.image = image
        self.generation = generation
    }
}

/// Where a stretch of a blob can be sent from with `sendfile`/`pread`: a descriptor, the offset in it and how
/// many bytes are there. For a local blob the descriptor is the blob and the offset the blob's; a cache of
/// slices (an object store's local copy) answers with a slice file and the offset within that slice.
///
/// `owner`, when set, keeps `fd` open: a reader that closes descriptors it no longer needs (the slice cache's,
/// which would otherwise hold one per slice of a large image) closes one only when no extent of it is alive.
/// Callers keep the extent alive until its bytes are sent or read: `defer { withExtendedLifetime(extent) {} }`
/// (ARC may otherwise release it right after `fd` is read).
public struct BlobExtent: Sendable {
    public let fd: Int32
    public let offset: UInt64
    public let length: UInt64
    public let owner: (any AnyObject & Sendable)?
    public init(fd: Int32, offset: UInt64, length: UInt64, owner: (any AnyObject & Sendable)? = nil) {
        self.fd = fd
        self.offset = offset
        self.length = length
        self.owner = owner
    }
}

/// An open blob version. Immutable and shared: one reader may serve many responses on many threads at once;
/// its descriptors stay valid while any reference to it lives (the last one closes them).
public protocol BlobReader: AnyObject, Sendable {
    /// The blob's length, fixed when it was opened (headers describe exactly these bytes).
    var size: UInt64 { get }
    /// The descriptor holding the bytes at `offset` of the blob, at most `maxLength` of them (fewer at a slice
    /// boundary or the end: ask again for the rest). `offset` must be below `size`.
    func extent(at offset: UInt64, maxLength: UInt64) throws(GateError) -> BlobExtent
    /// Whether the store still holds these very bytes for this version (cheap: one `stat` for a local blob).
    /// A reader that says false is dropped by caches and reopened; responses already using it finish.
    func isCurrent() -> Bool
}

/// A reader whose bytes may first have to be fetched (an object store's slices, Docs/object-storage.md "Read
/// cache"). `extent(at:)` still works on it and blocks until the bytes are local: fine for the FTP and SFTP
/// fronts, which serve from their own threads. An event loop must not block, so the HTTP writer asks
/// `prepare` first and parks the connection until `ready` fires.
public protocol PreparableBlobReader: BlobReader {
    /// true when the bytes at `offset` (the slice holding them) are local now; otherwise starts fetching them
    /// on another thread and calls `ready` exactly once (nil = ready, else the error), and returns false.
    func prepare(at offset: UInt64, then ready: @escaping @Sendable (GateError?) -> Void) -> Bool
}
