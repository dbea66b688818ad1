//===----------------------------------------------------------------------===//
// ImageGate: the running server picks up URL imports that no live process fetches: those created by
// `imagegate image import --url … --no-wait` (the CLI exits at once) or left by a CLI that was interrupted.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import ImageCatalog
import ImageManagement
import Synchronization
import SystemIO
import URLFetcher

/// Once a second the server looks for URL import jobs whose lease names no live process and claims them
/// (lease set to its own pid, through the same `setLease` that start-up adoption uses), then fetches them,
/// continuing a staging file an interrupted CLI left. Only the server claims, and never a job its own process
/// holds, so one import is never fetched twice. A holder counts as live while its process exists, whatever
/// its heartbeat: URL fetches do not refresh theirs, and a long fetch by a CLI must not be taken from it.
final class URLImportPickup: Sendable {
    private let stopping = Mutex(false)
    private let wake: EventFD
    private let thread: Mutex<OSThread?> = Mutex(nil)

    private init(wake: EventFD) { self.wake = wake }

    /// The lease of an import created for someone else to fetch: pid 0 is never a live process.
    static func unclaimed(now: Int64) -> ImportLease { ImportLease(pid: 0, heartbeat: now) }

    static func start(imports: ImportManager, logger: Logger, intervalMs: Int32 = 1000) -> URLImportPickup {
        let wake = try! EventFD()
        let s = URLImportPickup(wake: wake)
        let t = OSThread.spawn(name: "url-pickup") {
            while !s.stopping.withLock({ $0 }) {
                for id in imports.pickUpUnclaimedURLImports() { logger.info("import \(id): fetch picked up") }
                var pfd = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, intervalMs)
            }
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

    /// Whether `pid` names a process that exists (EPERM: it does, under another user).
    static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno != ESRCH
    }
}

extension ImportManager {
    /// Claims and starts every URL import whose holder is gone; returns the ids it started.
    func pickUpUnclaimedURLImports() -> [ImageID] {
        guard let jobs = try? store.importJobs(), jobs.contains(where: { $0.source == .url }),
            let leases = try? store.leases()
        else { return [] }
        var holder: [ImageID: Int32] = [:]
        for l in leases { holder[l.0] = l.pid }
        var started: [ImageID] = []
        for job in jobs where job.source == .url {
            let pid = holder[job.imageID] ?? 0
            guard pid != self.pid, !URLImportPickup.isAlive(pid) else { continue }
            guard let record = try? store.image(job.imageID), record.status == .uploading else { continue }
            guard (try? store.setLease(job.imageID, pid: self.pid, heartbeat: service.clock.now())) != nil else {
                continue
            }
            startFetch(job, record: record, resume: true)
            started.append(job.imageID)
        }
        return started
    }

    /// Refuses, at request time, a source URL that could never be fetched (a scheme other than http, https
    /// or ftp, a port outside the allow-list, a malformed address): 400 on the API, the same on the CLI and
    /// console, and no failed image left behind. Checks that need the network (DNS, address ranges) stay with
    /// the fetch.
    func checkSourceURL(_ url: String) throws(GateError) {
        if let refused = URLFetch(url: url, policy: fetchPolicy(cap: nil)).urlFailure {
            throw GateError.invalid("url: \(refused.message)")
        }
    }
}
