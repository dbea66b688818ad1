//===----------------------------------------------------------------------===//
// ImageGate: LISTEN/NOTIFY between two sessions.
//===----------------------------------------------------------------------===//

import Testing

@testable import PostgresClient

@Suite(.enabled(if: TestDatabase.available, TestDatabase.skipMessage))
struct PostgresNotifyTests {
    @Test("a listener receives a NOTIFY with its payload; one sent inside a transaction only after COMMIT")
    func notifications() throws {
        let listener = try TestDatabase.connect()
        let sender = try TestDatabase.connect()
        let channel = TestDatabase.uniqueName("revoked")
        try listener.listen(channel)

        try sender.notify(channel, payload: "serial 0123 ünï")
        let n = try listener.nextNotification(timeoutMilliseconds: 30_000)
        #expect(n == PostgresNotification(channel: channel, payload: "serial 0123 ünï", senderPID: sender.backendPID))

        try sender.transaction { _ in
            try sender.notify(channel, payload: "in tx")
            // Not committed yet: nothing may arrive. (A short wait: this checks absence, never a duration.)
            #expect(try listener.nextNotification(timeoutMilliseconds: 100) == nil)
        }
        #expect(try listener.nextNotification(timeoutMilliseconds: 30_000)?.payload == "in tx")

        try listener.unlisten(channel)
        try sender.notify(channel, payload: "after unlisten")
        try listener.ping()  // a round trip: anything already sent would have been read by now
        #expect(try listener.nextNotification(timeoutMilliseconds: 0) == nil)
        #expect(throws: PostgresError.self) { try listener.listen("Bad; DROP") }
    }

    @Test("a listener whose session is terminated gets connectionLost, not a silent wait")
    func listenerLost() throws {
        let listener = try TestDatabase.connect()
        let admin = try TestDatabase.connect()
        try listener.listen(TestDatabase.uniqueName("chan"))
        try TestDatabase.terminate(pid: listener.backendPID, using: admin)
        #expect {
            _ = try listener.nextNotification(timeoutMilliseconds: 30_000)
        } throws: { ($0 as? PostgresError)?.kind == .connectionLost }
        #expect(!listener.isConnected)
    }
}
