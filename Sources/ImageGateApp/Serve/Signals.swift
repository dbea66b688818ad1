//===----------------------------------------------------------------------===//
// ImageGate: signal handling for `serve`: block in every thread, wait in one.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

enum Signals {
    enum Received { case terminate, reload }

    private static func set() -> sigset_t {
        var s = sigset_t()
        sigemptyset(&s)
        sigaddset(&s, SIGTERM)
        sigaddset(&s, SIGINT)
        sigaddset(&s, SIGHUP)
        return s
    }

    /// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts afterwards (so they
    /// arrive only through `wait`), and ignores SIGPIPE (a vanished client is EPIPE, not death).
    static func takeOver() {
        var s = set()
        pthread_sigmask(SIG_BLOCK, &s, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Waits for the next signal of interest.
    static func wait() -> Received {
        var s = set()
        var sig: Int32 = 0
        while true {
            guard sigwait(&s, &sig) == 0 else { continue }
            switch sig {
            case SIGHUP: return .reload
            default: return .terminate
            }
        }
    }
}
