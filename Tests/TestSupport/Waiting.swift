//===----------------------------------------------------------------------===//
// ImageGate test support: bounded waits for something another thread does.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// How long a test waits for another thread (an event loop, a finalize) before it reports failure. Generous,
/// because the machine may be busy; a passing test never waits this long, it returns as soon as the
/// condition holds. Never an assertion about timing.
public let testPatienceMs: Int64 = 10_000

/// Monotonic milliseconds.
public func monotonicMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Polls `condition` every millisecond until it holds; throws naming `what` once `timeoutMs` passed.
public func waitUntil(_ what: String, timeoutMs: Int64 = testPatienceMs, _ condition: () throws -> Bool) throws {
    let deadline = monotonicMs() + timeoutMs
    while try !condition() {
        guard monotonicMs() < deadline else { throw TestFailure("timed out waiting for \(what)") }
        usleep(1000)
    }
}
