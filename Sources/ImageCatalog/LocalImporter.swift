//===----------------------------------------------------------------------===//
// ImageGate: import of a local file into the blob store (`imagegate image import --file`).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import GateCore

/// Copies a local file into the blob store, hashing as it goes, and finalizes atomically.
///
/// Crash safety (Docs/catalog.md): the row says `uploading` (with a lease naming this process) for the
/// whole copy; it says `available` only after the bytes are fsynced, renamed into place and the rename
/// is fsynced. A crash at any moment therefore leaves either an `uploading` row that recovery fails,
/// or an `available` row whose bytes are complete.
public struct LocalImporter: Sendable {
    public let store: any CatalogStore
    public let blobs: any BlobStorage
    public let clock: any WallClock

    /// Read size: large enough to stream at disk speed, small enough to keep memory flat.
    static let chunkSize = 1 << 20
    /// How often (wall-clock seconds) a long import refreshes its lease heartbeat.
    static let heartbeatInterval = ImportLease.heartbeatInterval

    public init(store: any CatalogStore, blobs: any BlobStorage, clock: any WallClock) {
        self.store = store
        self.blobs = blobs
        self.clock = clock
    }

    /// Imports the regular file at `path` as a new image named `name` (trimmed; 1–255 characters, no
    /// control characters; duplicates allowed) owned by `tenant`.
    ///
    /// Inserts an `uploading` row with a lease held by this process, streams the file (1 MiB reads, SHA-256
    /// in-line, written to a staging file), sniffs the format from the first 64 KiB, then
    /// `BlobStaging.finalize` (fsync, rename, fsync dir) and only then one transaction: status available,
    /// size, sha256, format, generation += 1, finalizedAt.
    ///
    /// Invalid input (bad name, missing path, not a regular file, empty file) is refused before any row
    /// exists. Any later error removes the staging file (and blob) and marks the row `failed` with the
    /// reason; the row is never `available` unless this returns.
    public func importFile(
        path: String, name: String, tenant: TenantID, progress: ((ImportProgress) -> Void)? = nil
    ) throws(GateError) -> ImageRecord {
        let name = try ImageRecord.validateName(name)
        let source = try SourceFile(path: path)
        defer { close(source.fd) }

        let now = clock.now()
        let record = ImageRecord(
            id: ImageRecord.newID(), tenant: tenant, name: name,
            fileName: ImageRecord.downloadFileName(name: name, format: .raw), format: .raw,
            status: .uploading, createdAt: now, updatedAt: now)
        try store.insert(record, lease: ImportLease(heartbeat: now))

        var pending: (any BlobStaging)?
        do throws(GateError) {
            let staging = try blobs.createStaging(
                for: BlobVersion(image: record.id, generation: record.generation &+ 1))
            pending = staging
            let copied = try copy(source, to: staging, progress: progress)
            // The row is ours (`uploading`, leased): its generation goes up by one exactly at the commit below.
            try staging.finalize(as: BlobVersion(image: record.id, generation: record.generation &+ 1))
            pending = nil
            let format = ImageFormat.sniff(copied.head)
            let finishedAt = clock.now()
            return try store.update(record.id) { (r: inout ImageRecord) throws(GateError) in
                // Recovery in another process may have declared this import dead (e.g. a stale heartbeat);
                // its verdict stands, so never resurrect the row.
                guard r.status == .uploading else {
                    throw .conflict("import of \(r.id) was interrupted: the image is now \(r.status.rawValue)")
                }
                r.status = .available
                r.size = copied.size
                r.sha256 = copied.sha256
                r.format = format
                r.kind = format == .iso ? .iso : .selfMade
                r.progressBytes = copied.size
                r.progressTotal = copied.size
                r.fileName = ImageRecord.downloadFileName(name: r.name, format: format)
                r.generation &+= 1
                r.failureReason = nil
                r.finalizedAt = finishedAt
            }
        } catch {
            abandon(record.id, staging: pending, reason: error.message)
            throw error
        }
    }

    /// Failure path: staging gone, row `failed` (if it is still ours), and the blob gone unless the row
    /// is available. Best effort: if the catalog is unreachable now, recovery finishes the job later.
    private func abandon(_ id: ImageID, staging: (any BlobStaging)?, reason: String) {
        staging?.abort()
        let stored = try? store.update(id) { (r: inout ImageRecord) throws(GateError) in
            guard r.status == .uploading else { return }
            r.status = .failed
            r.failureReason = "import failed: \(reason)"
        }
        // The blob path is unique to this new id, so removing it can only lose bytes no row serves.
        if stored?.status != .available { blobs.remove(id) }
    }

    private struct CopyResult {
        var size: UInt64
        var sha256: String
        var head: [UInt8]
    }

    private func copy(
        _ source: SourceFile, to out: any BlobStaging, progress: ((ImportProgress) -> Void)?
    ) throws(GateError) -> CopyResult {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        let hasher = SHA256Hasher()
        var head: [UInt8] = []
        head.reserveCapacity(ImageFormat.sniffLength)
        var total: UInt64 = 0
        var lastHeartbeat = clock.now()
        while true {
            let n = try FileSystem.read(source.fd, into: buffer)
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if head.count < ImageFormat.sniffLength {
                head.append(contentsOf: chunk.prefix(ImageFormat.sniffLength - head.count))
            }
            hasher.update(chunk)
            do {
                try out.append(chunk)
            } catch {
                throw FileSystem.error("write to staging file failed", errno: error.errno)
            }
            total += UInt64(n)
            progress?(ImportProgress(bytes: total, total: source.size))
            let now = clock.now()
            if now - lastHeartbeat >= Self.heartbeatInterval {
                // A missed heartbeat is not worth failing a long copy for; the next one may succeed.
                try? store.renewLeases(of: .current, heartbeat: now, expiresAt: now + ImportLease.lifetime)
                lastHeartbeat = now
            }
        }
        // A file that changed under us would give an image nobody asked for; refuse it.
        guard total == source.size else {
            throw .conflict("source file changed size during import (\(source.size) → \(total) bytes)")
        }
        return CopyResult(size: total, sha256: Hex.encode(hasher.finish()), head: head)
    }
}

/// An open, validated import source: a non-empty regular file.
private struct SourceFile {
    let fd: Int32
    let size: UInt64

    init(path: String) throws(GateError) {
        // O_NONBLOCK so opening a FIFO cannot hang waiting for a writer; it has no effect on regular files,
        // the only kind accepted below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw FileSystem.error("cannot open \(path)") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = FileSystem.error("cannot stat \(path)")
            close(fd)
            throw e
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw .invalid("\(path) is not a regular file")
        }
        guard st.st_size > 0 else {
            close(fd)
            throw .invalid("\(path) is empty")
        }
        self.fd = fd
        self.size = UInt64(st.st_size)
    }
}
