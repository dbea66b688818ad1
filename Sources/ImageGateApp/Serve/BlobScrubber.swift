//===----------------------------------------------------------------------===//
// ImageGate: the background scrub: every `imports.verify_interval`, re-hash each available image's bytes.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import ImageCatalog
import ImageManagement
import Synchronization
import SystemIO

/// Runs on a thread of its own (never the cooperative pool, never an event loop: hashing blocks on the disk for
/// minutes). One image at a time, at `imports.verify_rate` bytes per second; each result is logged, and a corrupt
/// image is failed through `ImageService.verifyImage` (audited), after which the authorizer refuses its links
/// once their one-second authorization cache entry has run out. A pass starts one interval after start-up and
/// one interval after the previous pass ended, so a slow pass never overlaps the next.
final class BlobScrubber: Sendable {
    private let stopping = Mutex(false)
    private let wake: EventFD
    private let thread: Mutex<OSThread?> = Mutex(nil)

    private init(wake: EventFD) { self.wake = wake }

    /// nil when `intervalSeconds` is 0 (the scrub is off).
    static func start(service: ImageService, bytesPerSecond: UInt64, intervalSeconds: Int64, logger: Logger)
        -> BlobScrubber?
    {
        guard intervalSeconds > 0 else { return nil }
        let verifier = BlobVerifier(blobs: service.blobs, bytesPerSecond: bytesPerSecond)
        let s = BlobScrubber(wake: try! EventFD())
        let intervalMs = Int32(clamping: intervalSeconds * 1000)
        logger.info("blob scrub: every \(DurationText.format(intervalSeconds)) at \(verifier.bytesPerSecond) bytes/s")
        // One node of a cluster scrubs the shared blobs per interval: the holder keeps the lease from one pass
        // to the next (renewed while a pass reads, and once more when it ends), so the other nodes' ticks find it
        // held; if the holder stops, another node takes over at most an interval and 5 minutes later.
        let task = ClusterTask(
            "blob-scrub", store: service.store, clock: service.clock, lifetime: intervalSeconds + 300, logger: logger)
        let t = OSThread.spawn(name: "scrub") {
            while s.sleep(intervalMs) {
                guard task.claim() else { continue }
                s.pass(service: service, verifier: verifier, logger: logger, task: task)
                _ = task.claim()
            }
            task.release()
        }
        s.thread.withLock { $0 = t }
        return s
    }

    /// Waits `ms` or until `stop`; false when stopping.
    private func sleep(_ ms: Int32) -> Bool {
        wake.wait(timeoutMs: ms)
        return !stopping.withLock { $0 }
    }

    private func pass(service: ImageService, verifier: BlobVerifier, logger: Logger, task: ClusterTask) {
        var lastRenewal = Monotonic.milliseconds()
        // Polled between chunks: a stop request ends the pass; once a minute the task lease is renewed, and a
        // lease lost meanwhile (this node could not renew it in time) ends the pass too.
        let shouldStop: () -> Bool = {
            if self.stopping.withLock({ $0 }) { return true }
            let now = Monotonic.milliseconds()
            guard now - lastRenewal >= 60_000 else { return false }
            lastRenewal = now
            return !task.claim()
        }
        let images: [ImageRecord]
        do {
            images = try service.verifiableImages()
        } catch {
            logger.error("blob scrub: cannot list images: \(error.message)")
            return
        }
        var corrupt = 0
        for image in images {
            if shouldStop() { return }
            let result: BlobCheck
            do {
                result = try service.verifyImage(
                    image, verifier: verifier, source: "scrub", shouldStop: shouldStop)
            } catch {
                logger.error("blob scrub: \(image.id): cannot record the result: \(error.message)")
                continue
            }
            switch result {
            case .intact:
                logger.info("blob scrub: \(image.id) intact (\(image.size) bytes)")
            case .missing, .wrongSize, .wrongDigest:
                corrupt += 1
                logger.error(
                    "blob scrub: \(image.id) \(result.label): \(result.reason(expected: image)); "
                        + "the image is now failed")
            case .unreadable, .superseded:
                logger.warning("blob scrub: \(image.id) \(result.label): \(result.reason(expected: image))")
            case .interrupted:
                return
            }
        }
        logger.info("blob scrub: pass done, \(images.count) image(s) checked, \(corrupt) corrupt or missing")
    }

    func stop() {
        stopping.withLock { $0 = true }
        wake.signal()
        thread.withLock { $0?.join() }
        wake.close()
    }
}
