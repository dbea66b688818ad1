//===----------------------------------------------------------------------===//
// ImageGate: the blob storage seam: everything the program does with image bytes, whatever holds them.
//===----------------------------------------------------------------------===//
import GateCore

/// Where image bytes live. `BlobStore` is the local-directory implementation (`blobs.url = file:///…`, the
/// data directory by default); an object store implements the same protocol (Docs/architecture.md, "Blob
/// storage"). No path or descriptor of a blob leaves a module except through this protocol and the
/// `BlobReader`/`BlobStaging` it hands out.
///
/// Rules every implementation keeps:
/// - The bytes of (image, generation) never change once finalized: readers, caches and ETags rely on it.
/// - `finalize` is atomic and durable: after it returns, a crash leaves the whole blob or (before) none of it;
///   only then may the catalog say `available` (Docs/catalog.md).
/// - Nothing is deleted in bulk: `remove` takes one image; blobs without a catalog row are quarantined.
public protocol BlobStorage: Sendable {
    /// For messages: the blob root (a path or URL without secrets).
    var location: String { get }
    /// Creates what the store needs before first use (directories); idempotent.
    func prepare() throws(GateError)

    /// Opens the bytes of `version`. `expectedSize` (the catalog's) is checked: a blob of another length is
    /// an error, never served.
    func openReader(_ version: BlobVersion, expectedSize: UInt64) throws(GateError) -> any BlobReader

    /// A new, empty staging object for an import whose bytes become `version` (an object store writes
    /// straight to that version's object; the local store ignores the generation).
    func createStaging(for version: BlobVersion) throws(GateError) -> any BlobStaging
    /// Continues a staging object an earlier attempt left (a restart, a resumed fetch or upload).
    func reopenStaging(_ staged: StagedBlob) throws(GateError) -> any BlobStaging
    /// Every staging object, for recovery and for resuming imports.
    func stagedBlobs() -> [StagedBlob]
    /// The staging objects of one image (at most one is expected; an interrupted retry may leave two). A
    /// store may answer this with one narrow listing (an object store lists only that image's uploads).
    func stagedBlobs(of id: ImageID) -> [StagedBlob]
    /// Bytes staged so far, nil when the staging object is gone.
    func stagedSize(_ staged: StagedBlob) -> UInt64?
    /// Deletes one staging object (idempotent).
    func removeStaging(_ staged: StagedBlob)
    /// Undoes a finalize whose catalog commit never happened: the blob becomes a staging object again.
    func returnToStaging(_ id: ImageID) throws(GateError) -> StagedBlob

    /// Images that have a finished blob (for the orphan sweep).
    func blobIDs() -> [ImageID]
    /// The finished blob's length, nil when there is none.
    func blobSize(_ id: ImageID) -> UInt64?
    /// Unix seconds of the finished blob's last change, nil when there is none.
    func blobModifiedAt(_ id: ImageID) -> Int64?
    /// Deletes one image's blob (idempotent).
    func remove(_ id: ImageID)
    /// Moves a blob without a catalog row aside (never deleted by the program) and says where it went.
    func quarantine(_ id: ImageID, now: Int64) throws(GateError) -> String
    /// Whether staging calls (and `stagedBlobs`, `stagedSize`) wait on the network (an object store): an
    /// HTTP event loop then hands them to a thread of their own (Docs/object-storage.md, "tus PATCH off the
    /// event loop"). A local directory answers false: its writes go to the page cache.
    var stagingWaitsOnNetwork: Bool { get }
}

extension BlobStorage {
    public var stagingWaitsOnNetwork: Bool { false }

    /// The default: every staging object, filtered.
    public func stagedBlobs(of id: ImageID) -> [StagedBlob] {
        stagedBlobs().filter { $0.image == id }
    }
}

/// A staging object as listed: the image it belongs to (nil for a foreign name) and its store-specific name.
public struct StagedBlob: Hashable, Sendable {
    public let image: ImageID?
    /// Opaque outside the store (a file path for the local store); fine in logs.
    public let name: String
    public init(image: ImageID?, name: String) {
        self.image = image
        self.name = name
    }
}

/// One import's bytes in progress. Used by one thread at a time; `finalize` or `abort` ends it (both close
/// what it holds), `close` keeps the bytes for a later `reopenStaging`.
public protocol BlobStaging: AnyObject {
    var staged: StagedBlob { get }
    /// Appends all of `buffer` (short writes and EINTR handled); the error keeps the `errno` reason.
    func append(_ buffer: UnsafeRawBufferPointer) throws(BlobWriteError)
    /// Reads back staged bytes at `offset` (resuming: the checks re-read what is there); 0 at the end.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(GateError) -> Int
    /// Cuts the staged bytes back to `length` and continues appending there.
    func truncate(to length: UInt64) throws(GateError)
    /// Makes the staged bytes the blob of `version`, atomically and durably. Always ends the staging object;
    /// on failure the bytes are left for the caller (or recovery) to remove.
    func finalize(as version: BlobVersion) throws(GateError)
    /// Ends the import: closes and deletes the staged bytes.
    func abort()
    /// Closes without deleting (the import continues later through `reopenStaging`).
    func close()

    /// Bytes between two checkpoints, nil when the store can read back every staged byte (the local store:
    /// a resumed import re-reads the file). An object store cannot read back the parts of an unfinished
    /// multipart upload, so the import hands it its checks' state at every multiple of this many bytes
    /// (`saveCheckpoint`) and a resumed import starts from that state (Docs/object-storage.md, "Resume").
    var checkpointInterval: UInt64? { get }
    /// Records the import's state after exactly `offset` staged bytes (a multiple of `checkpointInterval`),
    /// durably with the bytes before it. Called right after the append that reached `offset`.
    func saveCheckpoint(_ state: [UInt8], at offset: UInt64) throws(GateError)
    /// Before `finalize`: records the import's state after its last byte (`offset`, the whole size), durably
    /// with every byte before it, so a process killed before `finalize` ends leaves every byte staged and the
    /// next start finishes the import from this state. Nothing is appended afterwards.
    func saveFinalCheckpoint(_ state: [UInt8], at offset: UInt64) throws(GateError)
    /// After `reopenStaging`: the last checkpoint (its offset and state); `read(at:)` then reads only from
    /// that offset on. nil: no checkpoint, every byte is read back from 0.
    var restoredCheckpoint: (offset: UInt64, state: [UInt8])? { get }
}

extension BlobStaging {
    public var checkpointInterval: UInt64? { nil }
    public func saveCheckpoint(_ state: [UInt8], at offset: UInt64) throws(GateError) {}
    public func saveFinalCheckpoint(_ state: [UInt8], at offset: UInt64) throws(GateError) {}
    public var restoredCheckpoint: (offset: UInt64, state: [UInt8])? { nil }
}

/// A failed append, with the `errno` that caused it (a full disk is told apart from other failures).
public struct BlobWriteError: Error, Sendable {
    public let errno: Int32
    /// The store's own words when there is more to say than `errno` (an object store's answer).
    public let reason: String?
    public init(errno: Int32, reason: String? = nil) {
        self.errno = errno
        self.reason = reason
    }
}
