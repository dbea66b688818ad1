//===----------------------------------------------------------------------===//
// ImageGate: readiness (catalog, blob directory, listeners) checked on its own thread, read by /readyz.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import ImageCatalog
import Synchronization
import SystemIO

/// Runs the readiness checks once a second on a dedicated thread, so /readyz answers at once from the last
/// round and never blocks an event loop on a hanging catalog or file system. A round that does not finish
/// within `staleAfterMs` makes /readyz fail, naming the check that hangs.
final class HealthMonitor: Sendable {
    struct Round: Sendable {
        var failures: [(check: String, why: String)] = []
        var finishedMs: Int64 = 0
    }
    private struct State {
        var last: Round?
        /// The check the monitor thread is in right now (names a hanging check).
        var running = "catalog"
    }

    private let catalog: any CatalogHealth
    /// nil when the blob store can store and serve blobs, else why not.
    private let blobCheck: @Sendable () -> String?
    private let state = Mutex(State())
    private let listenersUp = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<OSThread?>(nil)
    static let probeTimeoutMs: Int32 = 1000
    static let staleAfterMs: Int64 = 5000

    convenience init(catalog: any CatalogHealth, blobDirectory: String) {
        self.init(catalog: catalog, blobCheck: { Self.directoryProblem(blobDirectory) })
    }

    /// `blobCheck` answers for the blob store (an object store: the bucket answers within `blobs.timeout`).
    init(catalog: any CatalogHealth, blobCheck: @escaping @Sendable () -> String?) {
        self.catalog = catalog
        self.blobCheck = blobCheck
    }

    /// Listeners are up once every front is bound, down again when shutdown begins.
    func setListenersUp(_ up: Bool) { listenersUp.store(up, ordering: .releasing) }

    /// Starts the checking thread; `tick` runs after each round (the systemd watchdog ping).
    func start(tick: @escaping @Sendable () -> Void) {
        runRound()
        let t = OSThread.spawn(name: "health") { [self] in
            while !stopping.load(ordering: .acquiring) {
                usleep(1_000_000)
                runRound()
                tick()
            }
        }
        thread.withLock { $0 = t }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        thread.withLock { $0 }?.join()
    }

    private func runRound() {
        var round = Round()
        state.withLock { $0.running = "catalog" }
        do {
            try catalog.readinessProbe(timeoutMs: Self.probeTimeoutMs)
        } catch {
            round.failures.append(("catalog", error.message))
        }
        state.withLock { $0.running = "blobs" }
        if let why = blobCheck() { round.failures.append(("blobs", why)) }
        if !listenersUp.load(ordering: .acquiring) { round.failures.append(("listeners", "not all listeners are up")) }
        round.finishedMs = Monotonic.milliseconds()
        state.withLock {
            $0.last = round
            $0.running = "catalog"
        }
    }

    /// A readable, writable, searchable directory: what storing and serving blobs needs.
    static func directoryProblem(_ path: String) -> String? {
        do {
            guard try FileIO.status(path).isDirectory else { return "\(path) is not a directory" }
            try FileIO.checkAccess(path, R_OK | W_OK | X_OK)
        } catch {
            return "\(path): \(error.reason)"
        }
        return nil
    }

    /// 200 "ready" or 503 with one line per failing check (`catalog: …`, `blobs: …`, `listeners: …`).
    func readiness() -> (status: Int, body: String) {
        let (last, running) = state.withLock { ($0.last, $0.running) }
        guard let last else { return (503, "\(running): first check has not finished\n") }
        let age = Monotonic.milliseconds() - last.finishedMs
        if age > Self.staleAfterMs {
            return (503, "\(running): check has not finished for \(age / 1000) s\n")
        }
        if last.failures.isEmpty { return (200, "ready\n") }
        return (503, last.failures.map { "\($0.check): \($0.why)\n" }.joined())
    }
}
