//===----------------------------------------------------------------------===//
// ImageGate: failed logins per client address, shared by the FTP and SFTP fronts.
//===----------------------------------------------------------------------===//
import Synchronization

/// Counts failed logins per peer address and says when an address has used up its allowance
/// (Docs/protocols.md §6.3 "max failed logins per IP"). What a locked address gets (421 at connect for FTP,
/// every login failing for SFTP) and the pause after a failure belong to the front.
public final class LoginThrottle: Sendable {
    /// How failures age out.
    public enum Window: Sendable {
        /// The window opens at the first failure and, `length` later, closes and forgets its count
        /// (SFTP: locked "until the minute is over", Docs/sftp.md).
        case fixed
        /// Only the failures of the last `length` count (FTP: "30 per address per 10 min", Docs/ftp.md).
        case sliding
    }

    private struct Entry {
        /// `.fixed`: when the window opened.
        var windowStart: Int64
        /// `.sliding`: failure times inside the window, oldest first; at most `limit + 1` are kept, enough to decide.
        var recent: [Int64] = []
        var failures = 0
    }

    /// Past this many addresses, those with nothing in their window are dropped (bounded memory under a scan).
    private static let pruneAbove = 10_000

    public let limit: Int
    private let window: Window
    private let lengthMs: Int64
    private let now: @Sendable () -> Int64
    private let entries = Mutex([String: Entry]())

    /// `now` is monotonic milliseconds (tests pass their own clock).
    public init(
        limit: Int, window: Window, lengthMs: Int64, now: @escaping @Sendable () -> Int64 = Monotonic.milliseconds
    ) {
        self.limit = limit
        self.window = window
        self.lengthMs = lengthMs
        self.now = now
    }

    /// True while `peer` has `limit` or more failures in its window.
    public func isLocked(_ peer: String) -> Bool {
        let t = now()
        return entries.withLock { current($0[peer], t).failures >= limit }
    }

    /// Records one failure and returns the failures now counted in the window (this one included;
    /// in `.sliding` mode at most `limit + 1`).
    @discardableResult
    public func recordFailure(_ peer: String) -> Int {
        let t = now()
        return entries.withLock { all in
            if all.count > Self.pruneAbove { all = all.filter { current($0.value, t).failures > 0 } }
            var e = current(all[peer], t)
            switch window {
            case .fixed:
                e.failures += 1
            case .sliding:
                e.recent.append(t)
                if e.recent.count > limit + 1 { e.recent.removeFirst(e.recent.count - (limit + 1)) }
                e.failures = e.recent.count
            }
            all[peer] = e
            return e.failures
        }
    }

    /// `e` with the window applied at time `t`.
    private func current(_ e: Entry?, _ t: Int64) -> Entry {
        switch window {
        case .fixed:
            guard let e, t - e.windowStart < lengthMs else { return Entry(windowStart: t) }
            return e
        case .sliding:
            guard var e else { return Entry(windowStart: t) }
            e.recent.removeAll { t - $0 >= lengthMs }
            e.failures = e.recent.count
            return e
        }
    }
}
