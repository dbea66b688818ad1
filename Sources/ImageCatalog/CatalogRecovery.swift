//===----------------------------------------------------------------------===//
// ImageGate: start-up crash recovery (interrupted imports, orphan staging files, damaged blobs).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore

/// What one recovery pass did, for the start-up log.
public struct RecoveryReport: Sendable, Equatable, CustomStringConvertible {
    /// `uploading` rows whose owner is gone, now `failed` ("the importing process stopped").
    public var interruptedImports = 0
    /// Blobs deleted because their row never became available.
    public var removedBlobs = 0
    /// Staging files deleted because no live import owns them.
    public var removedStagingFiles = 0
    /// `available` rows whose blob is missing or has the wrong size, now `failed`.
    public var damagedImages = 0

    public init() {}

    public var description: String {
        "recovery: \(interruptedImports) interrupted imports failed, \(damagedImages) damaged images failed, "
            + "\(removedBlobs) blobs and \(removedStagingFiles) staging files removed"
    }
}

/// Repairs what a crash (or kill -9, or power loss) can leave behind. Run at server start; safe to run
/// while a CLI import is in progress in another process (live leases are respected) and to run twice.
public struct CatalogRecovery: Sendable {
    public let store: any CatalogStore
    public let blobs: any BlobStorage
    public let clock: any WallClock
    /// Told of every image recovery made `failed` (interrupted or damaged), after its row changed: the server
    /// announces it as the webhook event `image.failed` (Docs/webhooks.md).
    public var onFailed: (@Sendable (ImageRecord) -> Void)? = nil

    public static let interruptedReason = ImportLease.stoppedReason
    public static let damagedReason = "image bytes missing or damaged"

    public init(store: any CatalogStore, blobs: any BlobStorage, clock: any WallClock) {
        self.store = store
        self.blobs = blobs
        self.clock = clock
    }

    /// Rules, in order:
    /// 1. `uploading` rows without a live lease (no lease, lease expired, or its holder's process gone on
    ///    this host: `ImportLease.isLive`) → `failed` ("the importing process stopped"); then their blob
    ///    (renamed but never committed) and staging files are removed. Run after the server claimed the
    ///    imports it can continue (ImportManager.adopt), so this fails only imports nobody can finish.
    ///    A resumable tus upload (a job with an upload id, not past its expiry) is the exception: nobody holds
    ///    an upload between two PATCHes, and its client resumes it on any node, so its row and staging file
    ///    stay (the import sweep fails it once it expired).
    /// 2. Staging files with no live lease are removed (those of resumable uploads stay).
    /// 3. `available` rows whose blob is missing or has the wrong size → `failed`
    ///    ("image bytes missing or damaged"), generation bumped so outstanding tokens die.
    public func run() throws(GateError) -> RecoveryReport {
        var report = RecoveryReport()
        // Staging files are listed *before* leases are read: an importer writes its lease before it
        // creates its staging file, so every file listed here has its lease visible below, and a
        // concurrent import cannot lose its staging file to this sweep.
        let staging = blobs.stagedBlobs()
        let now = clock.now()
        var live = Set<ImageID>()
        for (id, lease) in try store.leases() where lease.isLive(now: now) { live.insert(id) }
        for job in try store.importJobs() where job.isResumableUpload(now: now) { live.insert(job.imageID) }

        for record in try store.images(tenant: nil) {
            switch record.status {
            case .uploading where !live.contains(record.id):
                if try failInterrupted(record.id) {
                    report.interruptedImports += 1
                    if blobs.blobSize(record.id) != nil { report.removedBlobs += 1 }
                    blobs.remove(record.id)
                }
            case .available:
                if blobs.blobSize(record.id) != record.size, try failDamaged(record.id) {
                    report.damagedImages += 1
                }
            default:
                continue
            }
        }

        for staged in staging {
            if let id = staged.image, live.contains(id) { continue }
            blobs.removeStaging(staged)
            report.removedStagingFiles += 1
        }
        return report
    }

    /// Marks an orphaned import failed; false if the row moved on meanwhile (its importer finished) or its
    /// lease is live after all (an import that started after the leases were read). Taking the lease over
    /// first is what makes this safe against such a newcomer: the claim and the liveness check are one
    /// transaction.
    private func failInterrupted(_ id: ImageID) throws(GateError) -> Bool {
        let now = clock.now()
        guard try store.claimLease(id, ImportLease(heartbeat: now), unless: { $0.isLive(now: now) }) else {
            return false
        }
        // An upload created after the jobs were read, and already released by its node for its first PATCH:
        // resumable, so it is given back untouched.
        if let job = try store.importJob(image: id), job.isResumableUpload(now: now) {
            try store.setLease(id, .released(now: now))
            return false
        }
        var changed = false
        let after = try store.update(id) { (r: inout ImageRecord) throws(GateError) in
            guard r.status == .uploading else { return }
            r.status = .failed
            r.failureReason = Self.interruptedReason
            changed = true
        }
        if changed { onFailed?(after) }
        return changed
    }

    /// Re-checks the blob under the row's transaction so a concurrent re-import is not failed by mistake.
    private func failDamaged(_ id: ImageID) throws(GateError) -> Bool {
        var changed = false
        let after = try store.update(id) { (r: inout ImageRecord) throws(GateError) in
            guard r.status == .available, blobs.blobSize(r.id) != r.size else { return }
            r.status = .failed
            r.failureReason = Self.damagedReason
            r.generation &+= 1
            changed = true
        }
        if changed { onFailed?(after) }
        return changed
    }
}
