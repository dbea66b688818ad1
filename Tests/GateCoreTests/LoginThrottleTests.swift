//===----------------------------------------------------------------------===//
// ImageGate: the failed-login throttle shared by FTP (sliding window) and SFTP (fixed window).
//===----------------------------------------------------------------------===//
import GateCore
import Synchronization
import Testing

/// A clock the test moves by hand: no test here waits for real time.
private final class HandClock: Sendable {
    private let ms = Mutex<Int64>(1_000_000)
    func now() -> Int64 { ms.withLock { $0 } }
    func advance(_ d: Int64) { ms.withLock { $0 += d } }
}

@Suite struct LoginThrottleTests {
    @Test(arguments: [LoginThrottle.Window.fixed, .sliding])
    func locksAtTheLimit(window: LoginThrottle.Window) {
        let clock = HandClock()
        let t = LoginThrottle(limit: 3, window: window, lengthMs: 60_000, now: clock.now)
        #expect(!t.isLocked("10.0.0.1"))
        #expect(t.recordFailure("10.0.0.1") == 1)
        #expect(t.recordFailure("10.0.0.1") == 2)
        #expect(!t.isLocked("10.0.0.1"))
        #expect(t.recordFailure("10.0.0.1") == 3)
        #expect(t.isLocked("10.0.0.1"))
    }

    @Test(arguments: [LoginThrottle.Window.fixed, .sliding])
    func peersAreCountedApart(window: LoginThrottle.Window) {
        let clock = HandClock()
        let t = LoginThrottle(limit: 2, window: window, lengthMs: 60_000, now: clock.now)
        t.recordFailure("10.0.0.1")
        t.recordFailure("10.0.0.1")
        #expect(t.isLocked("10.0.0.1"))
        #expect(!t.isLocked("10.0.0.2"))
        #expect(t.recordFailure("10.0.0.2") == 1)
        #expect(!t.isLocked("10.0.0.2"))
    }

    @Test(arguments: [LoginThrottle.Window.fixed, .sliding])
    func unlocksWhenTheWindowIsOver(window: LoginThrottle.Window) {
        let clock = HandClock()
        let t = LoginThrottle(limit: 2, window: window, lengthMs: 60_000, now: clock.now)
        t.recordFailure("p")
        t.recordFailure("p")
        clock.advance(59_999)
        #expect(t.isLocked("p"))
        clock.advance(1)
        #expect(!t.isLocked("p"))
        #expect(t.recordFailure("p") == 1)
    }

    /// SFTP: the window opens at the first failure and forgets its whole count when it closes; failures past the
    /// limit keep counting (they set the growing pause).
    @Test func fixedWindowForgetsEverythingAtItsEnd() {
        let clock = HandClock()
        let t = LoginThrottle(limit: 3, window: .fixed, lengthMs: 60_000, now: clock.now)
        t.recordFailure("p")
        clock.advance(59_000)
        t.recordFailure("p")
        t.recordFailure("p")
        #expect(t.recordFailure("p") == 4)
        #expect(t.isLocked("p"))
        clock.advance(1_000)
        // 60 s after the first failure: a new window, although three failures are only 1 s old.
        #expect(!t.isLocked("p"))
        #expect(t.recordFailure("p") == 1)
    }

    /// FTP: each failure ages out on its own, `length` after it happened.
    @Test func slidingWindowAgesFailuresOneByOne() {
        let clock = HandClock()
        let t = LoginThrottle(limit: 3, window: .sliding, lengthMs: 600_000, now: clock.now)
        t.recordFailure("p")
        clock.advance(300_000)
        t.recordFailure("p")
        t.recordFailure("p")
        #expect(t.isLocked("p"))
        clock.advance(300_000)
        // The first failure is 600 s old and gone; the other two still count.
        #expect(!t.isLocked("p"))
        #expect(t.recordFailure("p") == 3)
        #expect(t.isLocked("p"))
    }

    @Test func slidingWindowKeepsOnlyWhatItNeeds() {
        let clock = HandClock()
        let t = LoginThrottle(limit: 2, window: .sliding, lengthMs: 60_000, now: clock.now)
        for _ in 0..<10 { t.recordFailure("p") }
        #expect(t.recordFailure("p") == 3)
        #expect(t.isLocked("p"))
    }

    /// Past 10,000 addresses the expired ones are dropped; live ones keep their count.
    @Test(arguments: [LoginThrottle.Window.fixed, .sliding])
    func pruningKeepsLiveEntries(window: LoginThrottle.Window) {
        let clock = HandClock()
        let t = LoginThrottle(limit: 2, window: window, lengthMs: 60_000, now: clock.now)
        for i in 0..<10_001 { t.recordFailure("old-\(i)") }
        clock.advance(30_000)
        t.recordFailure("live")
        t.recordFailure("live")
        clock.advance(30_000)
        t.recordFailure("new")
        #expect(t.isLocked("live"))
        #expect(!t.isLocked("old-0"))
        #expect(t.recordFailure("old-0") == 1)
    }
}
