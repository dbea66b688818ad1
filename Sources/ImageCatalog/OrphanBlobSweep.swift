//===----------------------------------------------------------------------===//
// ImageGate: blobs without a catalog row go to quarantine, a few at a time, never deleted wholesale.
//===----------------------------------------------------------------------===//
import GateCore

/// What one orphan sweep found and did.
public struct OrphanSweepReport: Sendable, Equatable {
    /// Blobs moved to quarantine, with their new paths, in the order they were moved.
    public var quarantined: [(id: ImageID, path: String)] = []
    /// Orphans younger than the grace period, left where they are for now.
    public var young = 0
    /// Set when more orphans than the limit were found: nothing was moved; the ids (sorted).
    public var refused: [ImageID]? = nil
    /// Why moving a blob failed (the sweep stops there; what was moved before is in `quarantined`).
    public var failure: String? = nil

    public init() {}

    public static func == (a: Self, b: Self) -> Bool {
        a.quarantined.map(\.id) == b.quarantined.map(\.id) && a.quarantined.map(\.path) == b.quarantined.map(\.path)
            && a.young == b.young && a.refused == b.refused && a.failure == b.failure
    }
}

/// A blob whose image row does not exist is an orphan. Normally that is the leftover of a destroy that
/// crashed between removing the row and the bytes. But a lost, empty or stale catalog makes *every* blob
/// look orphaned, and deleting them would destroy the only copy of every image (issue 10). So:
/// - an orphan is only touched once its file is older than `grace` seconds (modification time);
/// - it is moved to `<root>/quarantine/`, never deleted, and reported one by one;
/// - when more than `limit` orphans are due at once, the sweep moves nothing and reports them instead:
///   that many orphans means the catalog is wrong, not that a few destroys crashed.
public struct OrphanBlobSweep: Sendable {
    public let store: any CatalogStore
    public let blobs: any BlobStorage
    public let clock: any WallClock
    public var grace: Int64
    public var limit: Int

    public init(store: any CatalogStore, blobs: any BlobStorage, clock: any WallClock, grace: Int64, limit: Int) {
        self.store = store
        self.blobs = blobs
        self.clock = clock
        self.grace = grace
        self.limit = limit
    }

    public func run() throws(GateError) -> OrphanSweepReport {
        // Blobs are listed before rows are read: a row is always inserted before its bytes exist, so a blob
        // listed here whose row is missing afterwards really has no row.
        let listed = blobs.blobIDs()
        let rows = Set(try store.images(tenant: nil).map(\.id))
        let now = clock.now()
        var report = OrphanSweepReport()
        var due: [ImageID] = []
        for id in listed where !rows.contains(id) {
            guard let modified = blobs.blobModifiedAt(id) else { continue }
            if now - modified < grace {
                report.young += 1
            } else {
                due.append(id)
            }
        }
        if due.count > limit {
            report.refused = due
            return report
        }
        for id in due {
            do {
                report.quarantined.append((id, try blobs.quarantine(id, now: now)))
            } catch {
                report.failure = error.message
                break
            }
        }
        return report
    }
}
