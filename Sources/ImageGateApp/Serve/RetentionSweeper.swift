//===----------------------------------------------------------------------===//
// ImageGate: destroys images whose recycle-bin retention has run out, once a minute, on its own thread
// (and, on the same tick, quarantines orphan blobs: OrphanBlobJanitor).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import ImageManagement
import ImportPipeline
import Synchronization
import SystemIO

final class RetentionSweeper: Sendable {
    private let stopping = Mutex(false)
    private let wake: EventFD
    private let thread: Mutex<OSThread?> = Mutex(nil)

    private init(wake: EventFD) { self.wake = wake }

    static func start(
        service: ImageService, imports: ImportManager, orphans: OrphanBlobJanitor, logger: Logger,
        intervalMs: Int32 = 60_000
    ) -> RetentionSweeper {
        let wake = try! EventFD()
        let s = RetentionSweeper(wake: wake)
        // One node of a cluster purges (ClusterTask); it renews its lease every tick, and gives way to another
        // node two ticks after it stopped renewing.
        let purge = ClusterTask(
            "recycle-bin-purge", store: service.store, clock: service.clock,
            lifetime: 2 * Int64(max(1, intervalMs / 1000)), logger: logger)
        let t = OSThread.spawn(name: "retention") {
            while !s.stopping.withLock({ $0 }) {
                purge.runIfClaimed {
                    do throws(GateError) {
                        let purged = try service.purgeExpired()
                        if !purged.isEmpty { logger.info("recycle bin: destroyed \(purged.count) expired image(s)") }
                    } catch {
                        logger.error("recycle bin sweep failed: \(error.message)")
                    }
                }
                orphans.run()
                wake.wait(timeoutMs: intervalMs)
            }
            purge.release()
            orphans.release()
        }
        s.thread.withLock { $0 = t }
        return s
    }

    func stop() {
        stopping.withLock { $0 = true }
        wake.signal()
        thread.withLock { $0?.join() }
        wake.close()
    }
}
