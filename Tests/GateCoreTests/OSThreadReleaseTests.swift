//===----------------------------------------------------------------------===//
// ImageGate: a fire-and-forget OSThread gives its stack back when it ends (issue #10 item 10).
//===----------------------------------------------------------------------===//
import Dispatch
import Foundation
import SystemIO
import Testing

@Suite struct OSThreadReleaseTests {
    /// Virtual size of this process in KiB (/proc/self/status VmSize): every thread stack that is still mapped
    /// counts in full (1 MiB), touched or not.
    static func virtualKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmSize:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    @Test func discardedThreadsDoNotKeepTheirStacks() throws {
        // `_ = OSThread.spawn` (import finalize, URL fetch) never joins: a joinable thread nobody joins keeps
        // its 1 MiB stack mapped (and its touched pages resident) forever. 300 of them in a row: with the
        // stacks released (and reused from glibc's stack cache), the process grows by far less than 300 MiB.
        let before = try Self.virtualKiB()
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<300 {
            _ = OSThread.spawn(name: "fire-and-forget") { done.signal() }
            done.wait()
        }
        let grownMiB = (try Self.virtualKiB() - before) / 1024
        #expect(grownMiB < 100, "300 finished threads left \(grownMiB) MiB mapped: their stacks were never released")
    }
    @Test func aJoinedThreadStillJoins() {
        let ran = DispatchSemaphore(value: 0)
        let t = OSThread.spawn(name: "joined") { ran.signal() }
        t.join()
        #expect(ran.wait(timeout: .now()) == .success)
    }
}
