//===----------------------------------------------------------------------===//
// ImageGate: a thread that runs one piece of blocking work at a fixed interval until it is stopped.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Runs `body` at once and then every `intervalMs` milliseconds on its own thread (catalog work blocks, so it
/// never runs on Swift's cooperative pool or an event loop). `stop` wakes the sleeping thread through an
/// eventfd and joins it, so no `body` runs after `stop` returned.
public final class PeriodicThread: Sendable {
    private let stopping = Mutex(false)
    private let wake: EventFD
    private let thread: Mutex<OSThread?> = Mutex(nil)

    private init(wake: EventFD) { self.wake = wake }

    public static func start(name: String, intervalMs: Int32, _ body: @escaping @Sendable () -> Void) -> PeriodicThread
    {
        // eventfd fails only when the process is out of descriptors, where nothing else would work either.
        let wake = try! EventFD()
        let p = PeriodicThread(wake: wake)
        let t = OSThread.spawn(name: name) {
            while !p.stopping.withLock({ $0 }) {
                body()
                var pfd = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, max(1, intervalMs))
            }
        }
        p.thread.withLock { $0 = t }
        return p
    }

    public func stop() {
        let first = stopping.withLock { was in
            defer { was = true }
            return !was
        }
        guard first else { return }
        wake.signal()
        thread.withLock { $0?.join() }
        wake.close()
    }
}
