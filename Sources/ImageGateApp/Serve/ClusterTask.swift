//===----------------------------------------------------------------------===//
// ImageGate: a periodic job that one node at a time runs, through a task lease in the catalog.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Synchronization

/// The recycle-bin purge, the orphan-blob sweep and the scrub act on what every node shares (the catalog and
/// the blob store), so with several nodes on one catalog only one of them runs each, at a time: the one that
/// holds the job's task lease (`CatalogStore.claimTask`, table `task_leases`). The holder keeps the lease by
/// renewing it each time it runs the job (a claim by the holder itself is a renewal), so the same node goes on
/// running it; a holder that stopped gives way once its lease expired (`lifetime` after its last renewal), and
/// a holder that stops cleanly releases it at once. With the embedded catalog the only node always holds it.
final class ClusterTask: Sendable {
    let name: String
    private let store: any CatalogStore
    private let clock: any WallClock
    private let lifetime: Int64
    private let logger: Logger
    /// Whether this process held the lease at the last attempt (to log changes once, not every tick).
    private let held = Mutex<Bool?>(nil)

    init(_ name: String, store: any CatalogStore, clock: any WallClock, lifetime: Int64, logger: Logger) {
        self.name = name
        self.store = store
        self.clock = clock
        self.lifetime = lifetime
        self.logger = logger
    }

    /// The node id, not the process: a node restarted after a crash (SIGKILL leaves its task leases behind)
    /// takes its jobs back at once instead of waiting for its own old lease to expire. Node ids are unique per
    /// node (`node.id`), so this is still one holder per node.
    private var holder: String { LeaseHolder.localNode }

    /// Takes or renews the lease until `lifetime` from now; false when another node holds it (or the catalog
    /// cannot be reached: then nobody runs the job rather than two nodes at once).
    func claim() -> Bool {
        let now = clock.now()
        let mine: Bool
        do {
            mine = try store.claimTask(name, holder: holder, now: now, expiresAt: now + lifetime)
        } catch {
            logger.warning("\(name): cannot claim its task lease, skipped this time: \(error.message)")
            mine = false
        }
        let changed = held.withLock { last -> Bool in
            defer { last = mine }
            return last != mine
        }
        if changed {
            logger.info(mine ? "\(name): this node (\(holder)) runs it" : "\(name): another node runs it")
        }
        return mine
    }

    /// Runs `body` if this process holds (or could take) the lease.
    func runIfClaimed(_ body: () -> Void) {
        if claim() { body() }
    }

    /// Gives the lease up (clean stop), so another node takes the job over at its next tick.
    func release() {
        guard held.withLock({ $0 }) == true else { return }
        try? store.releaseTask(name, holder: holder)
    }
}
