//===----------------------------------------------------------------------===//
// ImageGate: plain pthreads for event loops and blocking work, never Swift's cooperative pool.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLinuxShims

/// A joinable OS thread running one closure. Event loops and blocking I/O live on these so that
/// Swift's cooperative pool is never blocked (Docs/style.md §2.5).
///
/// A thread whose `OSThread` is released without `join` (`_ = OSThread.spawn { … }`: an import's finalize,
/// a URL fetch) is detached then, so its stack and descriptor go back to the system when it ends; before,
/// each such thread kept its 1 MiB stack mapped for good (issue #10 item 10, Docs/testing.md).
public final class OSThread: @unchecked Sendable {
    // Safe to share: `handle` is written once before `spawn` returns and only read by `join` and `deinit`;
    // `joined` is only touched by `join` and `deinit`, which cannot overlap (deinit runs after the last use).
    private var handle = pthread_t()
    private var joined = false

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    public static func spawn(name: String, _ body: @escaping @Sendable () -> Void) -> OSThread {
        let t = OSThread()
        let box = Unmanaged.passRetained(
            Box({
                CLinuxShims_set_thread_name(name)
                body()
            })
        ).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        // Event loops need little stack; 1 MiB keeps virtual size modest with many threads.
        pthread_attr_setstacksize(&attr, 1 << 20)
        let rc = pthread_create(
            &t.handle, &attr,
            { arg in
                let b = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
                b.body()
                return nil
            }, box)
        pthread_attr_destroy(&attr)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        return t
    }

    public func join() {
        pthread_join(handle, nil)
        joined = true
    }

    deinit {
        if !joined { pthread_detach(handle) }
    }
}
