//===----------------------------------------------------------------------===//
// ImageGate: the loop's descriptor-indexed connection table, alone and under a loop with holes in it.
//===----------------------------------------------------------------------===//
import GateCore
@testable import HTTPServer
import SystemIO
import Testing
import TestSupport

@Suite struct ConnectionTableTests {
    static func connection(_ fd: Int32) -> Connection {
        Connection(
            fd: fd, tag: UInt64(fd), peer: PeerAddress(host: "192.0.2.7", port: 1, bytes: [192, 0, 2, 7]),
            transport: PlainTransport(fd: fd), handshake: false, nowMs: 0)
    }

    @Test("lookups find what was stored, holes and numbers past the end are empty, removal frees the slot")
    func table() {
        var t = ConnectionTable()
        #expect(t[0] == nil && t[100] == nil && t[-1] == nil)
        let a = Self.connection(3)
        let b = Self.connection(40)
        t[3] = a
        t[40] = b
        #expect(t[3] === a && t[40] === b)
        #expect(t[4] == nil && t[39] == nil && t[41] == nil && t[10_000] == nil)
        #expect(t.count == 2)
        #expect(t.values.map(\.fd) == [3, 40])
        // Replacing a slot keeps the count; removing twice counts once; clearing past the end is a no-op.
        let c = Self.connection(3)
        t[3] = c
        #expect(t[3] === c && t.count == 2)
        t[40] = nil
        t[40] = nil
        t[5000] = nil
        #expect(t[40] == nil && t.count == 1)
        #expect(t.values.map(\.fd) == [3])
    }

    /// The idle sweep walks the table's connections: with other descriptors between the server ends (the
    /// clients' ends of the socket pairs), every idle connection is still found and closed.
    @Test("the idle sweep closes every idle connection of a table with holes")
    func sweepFindsEveryConnection() throws {
        var config = HTTPServerConfig()
        config.idleTimeoutMs = 1
        let loop = try LoopHarness(handler: KeepAliveTests.echo, config: config)
        defer { loop.stop() }
        var clients: [ClientSocket] = []
        for _ in 0..<5 { clients.append(try loop.connect()) }
        for client in clients {
            #expect(try client.readToEnd().isEmpty)
            #expect(client.ended)
        }
    }
}
