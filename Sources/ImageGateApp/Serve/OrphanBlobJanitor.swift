//===----------------------------------------------------------------------===//
// ImageGate: runs the orphan-blob sweep at start and on every retention tick, and says what it did.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Synchronization

/// Logs every quarantined blob on its own line, and a sweep stopped by `catalog.orphan_sweep_limit` once
/// per distinct set of orphans (not every minute while nothing changes).
final class OrphanBlobJanitor: Sendable {
    private let sweep: OrphanBlobSweep
    private let logger: Logger
    private let lastRefused = Mutex<[ImageID]?>(nil)

    /// One node of a cluster sweeps the shared blob store at a time (the retention tick renews it).
    private let task: ClusterTask

    init(data: DataDirectory, logger: Logger) {
        let guards = data.settings.catalogGuards
        sweep = OrphanBlobSweep(
            store: data.store, blobs: data.blobs, clock: data.clock, grace: guards.orphanGrace,
            limit: guards.orphanSweepLimit)
        self.logger = logger
        task = ClusterTask("orphan-blob-sweep", store: data.store, clock: data.clock, lifetime: 120, logger: logger)
    }

    /// Gives the sweep's task lease up (clean stop).
    func release() { task.release() }

    func run() {
        guard task.claim() else { return }
        let report: OrphanSweepReport
        do {
            report = try sweep.run()
        } catch {
            logger.error("orphan blob sweep failed: \(error.message)")
            return
        }
        for (id, path) in report.quarantined {
            logger.warning("orphan blob \(id) has no catalog row: moved to \(absolutePath(path)) (Docs/recovery.md)")
        }
        if let failure = report.failure { logger.error("orphan blob sweep stopped: \(failure)") }
        let refused = report.refused
        let isNew = lastRefused.withLock { last -> Bool in
            defer { last = refused }
            return refused != nil && refused != last
        }
        guard let refused, isNew else { return }
        let shown = refused.prefix(5).map(\.description).joined(separator: ", ")
        logger.error(
            "orphan blob sweep stopped: \(refused.count) blobs in \(absolutePath(sweep.blobs.location))/blobs have no "
                + "catalog row (\(shown)\(refused.count > 5 ? ", …" : "")), more than catalog.orphan_sweep_limit = "
                + "\(sweep.limit); none was moved. A catalog that lost rows (restored from an old backup, or "
                + "replaced) looks like this: check it before raising the limit (Docs/recovery.md).")
    }
}
