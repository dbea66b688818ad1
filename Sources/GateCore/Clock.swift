//===----------------------------------------------------------------------===//
// ImageGate: wall and monotonic time, injectable for tests.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Wall-clock time in Unix seconds. Token expiry uses this; timeouts use `Monotonic`.
public protocol WallClock: Sendable {
    func now() -> Int64
}

public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Int64 { Int64(time(nil)) }
}

/// A clock tests move by hand (expiry, rotation, retention).
public final class ManualClock: WallClock {
    private let current: Mutex<Int64>
    public init(_ start: Int64) { current = Mutex(start) }
    public func now() -> Int64 { current.withLock { $0 } }
    public func set(_ value: Int64) { current.withLock { $0 = value } }
    public func advance(_ seconds: Int64) { current.withLock { $0 += seconds } }
}

/// Monotonic time in milliseconds, for deadlines and durations.
public enum Monotonic {
    public static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
    public static func nanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
    public static func microseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}
