//===----------------------------------------------------------------------===//
// ImageGate: the SFTP connection gate: pre-auth connections apart from sessions, per-address caps, the rate.
//===----------------------------------------------------------------------===//
import Testing
@testable import SFTPServer

@Suite struct ConnectionGateTests {
    static let limits = ConnectionGate.Limits(
        maxSessions: 4, maxSessionsPerAddress: 3, maxUnauthenticated: 6, maxUnauthenticatedPerAddress: 2,
        connectionsPerSecond: 100)

    @Test func silentConnectionsTakeOnlyTheirAddressShareAndNoSessionSlot() {
        let gate = ConnectionGate(Self.limits)
        #expect(gate.admit("10.0.0.9", nowMs: 0) == nil)
        #expect(gate.admit("10.0.0.9", nowMs: 0) == nil)
        #expect(gate.admit("10.0.0.9", nowMs: 0) == .unauthenticatedPerAddress)
        // Another address still gets in and logs in: the silent ones hold no session slot.
        for _ in 0..<2 {
            #expect(gate.admit("10.0.0.1", nowMs: 0) == nil)
            #expect(gate.promote("10.0.0.1") == nil)
        }
        #expect(gate.counts.unauthenticated == 2 && gate.counts.sessions == 2)
    }

    @Test func sessionCapsApplyAtLoginAndReleaseFreesThem() {
        let gate = ConnectionGate(Self.limits)
        for _ in 0..<3 {
            #expect(gate.admit("a", nowMs: 0) == nil)
            #expect(gate.promote("a") == nil)
        }
        #expect(gate.admit("a", nowMs: 0) == nil)
        #expect(gate.promote("a") == .sessionsPerAddress)
        #expect(gate.admit("b", nowMs: 0) == nil)
        #expect(gate.promote("b") == nil)
        #expect(gate.admit("c", nowMs: 0) == nil)
        #expect(gate.promote("c") == .sessionsTotal)
        gate.release("a", promoted: true)
        #expect(gate.promote("c") == nil)
        gate.release("a", promoted: false)
        gate.release("c", promoted: true)
        #expect(gate.counts.unauthenticated == 0 && gate.counts.sessions == 3)
    }

    @Test func theRateBindsConnectionsThatNeverLogIn() {
        var l = Self.limits
        l.connectionsPerSecond = 2
        l.maxUnauthenticatedPerAddress = 100
        l.maxUnauthenticated = 100
        let gate = ConnectionGate(l)
        // Burst of twice the rate, then refused until time passes.
        for _ in 0..<4 { #expect(gate.admit("x", nowMs: 1_000) == nil) }
        #expect(gate.admit("x", nowMs: 1_000) == .rateLimited)
        #expect(gate.admit("x", nowMs: 1_500) == nil)
        #expect(gate.admit("x", nowMs: 1_500) == .rateLimited)
        // A connection that logs in gives its slot back.
        #expect(gate.promote("x") == nil)
        #expect(gate.admit("x", nowMs: 1_500) == nil)
        #expect(gate.admit("other", nowMs: 1_500) == nil)
    }
}
