//===----------------------------------------------------------------------===//
// ImageGate: the local blob store (image bytes in a directory) with staging files and atomic finalize.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import GateCore
import SystemIO

/// `BlobStorage` on a directory: the data directory by default, or `blobs.url = file:///PATH` (a directory
/// several nodes share, NFS or CephFS):
///
///     <root>/blobs/<image-id>                  finished images (what downloads read)
///     <root>/staging/<image-id>.<random hex>   imports in progress
///     <root>/quarantine/<image-id>.<time>      blobs found without a catalog row (never deleted by us)
///
/// Staging and blobs share one file system (both under `root`, whatever file system that is), so `rename` is
/// atomic. One file per image, whatever its generation: a generation bump (delete, restore) never changes the
/// bytes, so the file of an available image is the bytes of its current generation and the reader only
/// checks the length the catalog recorded. Directories are created 0700 and files 0600: only the service
/// account reads image bytes; everyone else goes through a token.
public struct BlobStore: BlobStorage {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public var blobDirectory: String { root + "/blobs" }
    public var stagingDirectory: String { root + "/staging" }

    public func path(for id: ImageID) -> String {
        blobDirectory + "/" + id.description
    }

    public var location: String { root }

    public func prepare() throws(GateError) {
        try FileSystem.makeDirectories(blobDirectory)
        try FileSystem.makeDirectories(stagingDirectory)
    }

    public func openReader(_ version: BlobVersion, expectedSize: UInt64) throws(GateError) -> any BlobReader {
        let reader = try LocalBlobReader(path: path(for: version.image))
        guard reader.size == expectedSize else {
            throw GateError.io("blob of \(version.image) is \(reader.size) bytes, the catalog says \(expectedSize)")
        }
        return reader
    }

    /// Creates a new, empty staging file for `id`: `O_CREAT|O_EXCL` (never reuses or follows an
    /// existing path), `O_CLOEXEC` (not leaked into child processes), mode 0600. The random suffix
    /// keeps a retried attempt from colliding with a stale file of an earlier one.
    public func createStaging(for version: BlobVersion) throws(GateError) -> any BlobStaging {
        let id = version.image
        try FileSystem.makeDirectories(stagingDirectory)
        let path = stagingDirectory + "/" + id.description + "." + Hex.encode(Crypto.randomBytes(8))
        let fd: Int32
        do {
            fd = try FileIO.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600)
        } catch {
            throw FileSystem.error("cannot create staging file \(path)", errno: error.errno)
        }
        return LocalBlobStaging(store: self, fd: fd, staged: StagedBlob(image: id, name: path))
    }

    /// Reopens a staging file for appending at its end (`O_NOFOLLOW`: only the plain file we wrote).
    public func reopenStaging(_ staged: StagedBlob) throws(GateError) -> any BlobStaging {
        guard FileSystem.parentDirectory(of: staged.name) == stagingDirectory else {
            throw GateError.invalid("\(staged.name) is not a staging file of this store")
        }
        let fd: Int32
        do {
            fd = try FileIO.open(staged.name, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        } catch {
            throw FileSystem.error("cannot reopen staging file", errno: error.errno)
        }
        do {
            try FileIO.seekToEnd(fd)
        } catch {
            Sys.close(fd)
            throw FileSystem.error("cannot seek staging file", errno: error.errno)
        }
        return LocalBlobStaging(store: self, fd: fd, staged: staged)
    }

    public func stagedBlobs() -> [StagedBlob] {
        stagingFiles().map { StagedBlob(image: Self.imageID(ofStagingPath: $0), name: $0) }
    }

    public func stagedSize(_ staged: StagedBlob) -> UInt64? {
        FileSystem.regularFileSize(staged.name)
    }

    public func removeStaging(_ staged: StagedBlob) {
        removeStaging(staged.name)
    }

    /// Makes a staging file the image's blob, durably, in the only safe order:
    /// `fsync(fd)` (bytes on disk) → `close` → `rename(staging, blob)` (atomic switch) → `fsync(blobs dir)`
    /// (the new name on disk). Only after this returns may the catalog say `available`. Staging and blob
    /// directories are under one root, so the rename never crosses a file system (`blobs.url` moves both).
    ///
    /// Always consumes `fd` (closed on success and on failure). On failure the staging file, and the
    /// blob if the rename already happened, are left for the caller (or recovery) to remove.
    func finalize(stagingPath: String, fd: Int32, id: ImageID) throws(GateError) {
        do {
            try FileSystem.makeDirectories(blobDirectory)
        } catch {
            Sys.close(fd)
            throw error
        }
        do {
            try AtomicFile.commit(fd: fd, temporary: stagingPath, to: path(for: id))
        } catch {
            switch error.step {
            case .create, .write, .sync:
                throw FileSystem.error(
                    error.cause.call == "close" ? "closing staging file failed" : "fsync of staging file failed",
                    errno: error.errno)
            case .place: throw FileSystem.error("cannot move staging file into the blob store", errno: error.errno)
            case .syncDirectory:
                throw FileSystem.error("fsync of directory \(blobDirectory) failed", errno: error.errno)
            }
        }
    }

    /// Undoes a `finalize` whose catalog commit never happened (the process died after the rename): the blob
    /// moves back to a new staging file (atomic rename, same file system, both directories synced), so the
    /// import can verify and finalize its bytes again. Returns the staging path.
    public func returnToStaging(_ id: ImageID) throws(GateError) -> StagedBlob {
        try FileSystem.makeDirectories(stagingDirectory)
        let target = stagingDirectory + "/" + id.description + "." + Hex.encode(Crypto.randomBytes(8))
        do {
            try FileIO.rename(path(for: id), to: target)
        } catch {
            throw FileSystem.error("cannot move the uncommitted blob back to staging", errno: error.errno)
        }
        try FileSystem.syncDirectory(stagingDirectory)
        try FileSystem.syncDirectory(blobDirectory)
        return StagedBlob(image: id, name: target)
    }

    /// Deletes an image's blob; a missing blob is fine (removal is idempotent).
    public func remove(_ id: ImageID) {
        FileIO.remove(path(for: id))
    }

    /// Deletes one staging file (idempotent).
    public func removeStaging(_ path: String) {
        FileIO.remove(path)
    }

    /// Full paths of every file in the staging directory.
    public func stagingFiles() -> [String] {
        FileSystem.directoryEntries(stagingDirectory).map { stagingDirectory + "/" + $0 }
    }

    /// The image id a staging path belongs to (`<image-id>.<random>`), nil for a foreign name.
    public static func imageID(ofStagingPath path: String) -> ImageID? {
        let name = FileSystem.lastComponent(of: path)
        guard let dot = name.firstIndex(of: ".") else { return nil }
        return ImageID(String(name[..<dot]))
    }

    /// Ids of every finished blob (names that are not image ids are skipped).
    public func blobIDs() -> [ImageID] {
        FileSystem.directoryEntries(blobDirectory).compactMap { ImageID($0) }
    }

    /// Size of an image's blob, nil if it is missing (or not a regular file).
    public func blobSize(_ id: ImageID) -> UInt64? {
        FileSystem.regularFileSize(path(for: id))
    }

    /// Where blobs without a catalog row go instead of being deleted (Docs/recovery.md): an orphan may be
    /// the only copy of an image whose row was lost, so only an operator decides to delete it.
    public var quarantineDirectory: String { root + "/quarantine" }

    /// Last modification time (Unix seconds) of an image's blob, nil if it is missing.
    public func blobModifiedAt(_ id: ImageID) -> Int64? {
        guard let st = try? FileIO.linkStatus(path(for: id)), st.isRegularFile else { return nil }
        return st.modifiedSeconds
    }

    /// Moves an image's blob to `quarantine/<image-id>.<now>` (same file system, so an atomic rename),
    /// durably (both directories synced), and returns the new path. The timestamp keeps a second
    /// quarantine of the same id from replacing the first.
    public func quarantine(_ id: ImageID, now: Int64) throws(GateError) -> String {
        try FileSystem.makeDirectories(quarantineDirectory)
        let target = quarantineDirectory + "/" + id.description + "." + String(now)
        // link + unlink instead of rename: rename would silently replace an existing quarantined file.
        do {
            try FileIO.link(path(for: id), to: target)
        } catch {
            throw FileSystem.error("cannot quarantine blob \(id)", errno: error.errno)
        }
        try FileSystem.syncDirectory(quarantineDirectory)
        do {
            try FileIO.unlink(path(for: id))
        } catch {
            throw FileSystem.error("cannot remove quarantined blob \(id)", errno: error.errno)
        }
        try FileSystem.syncDirectory(blobDirectory)
        return target
    }
}
