//===----------------------------------------------------------------------===//
// ImageGate: responses whose file bytes must be fetched first (object-store slices): the writer parks the
// connection instead of blocking its loop, and answers 503 or cuts the connection when the store fails.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import HTTPServer
import Synchronization
import Testing
import TestSupport

/// A file read in "slices" that are cold until the test says the store delivered them (or failed): what the
/// slice cache's reader does, with the fetch in the test's hands.
final class GatedBlobReader: PreparableBlobReader {
    let file: PathBlobReader
    let sliceBytes: UInt64
    private struct State {
        var local: Set<UInt64> = []
        var waiting: [(slice: UInt64, ready: @Sendable (GateError?) -> Void)] = []
        var prepareCalls = 0
        var readAheads: [(offset: UInt64, end: UInt64)] = []
    }
    private let state = Mutex(State())

    init(path: String, sliceBytes: UInt64, local: Set<UInt64> = []) throws {
        file = try PathBlobReader(path: path)
        self.sliceBytes = sliceBytes
        state.withLock { $0.local = local }
    }

    var size: UInt64 { file.size }
    func isCurrent() -> Bool { true }

    func prepare(at offset: UInt64, then ready: @escaping @Sendable (GateError?) -> Void) -> Bool {
        state.withLock { s in
            s.prepareCalls += 1
            if s.local.contains(offset / sliceBytes) { return true }
            s.waiting.append((offset / sliceBytes, ready))
            return false
        }
    }

    func readAhead(at offset: UInt64, end: UInt64) {
        state.withLock { $0.readAheads.append((offset, end)) }
    }
    /// The ranges the writer announced it will read next.
    var readAheads: [(offset: UInt64, end: UInt64)] { state.withLock { $0.readAheads } }

    func extent(at offset: UInt64, maxLength: UInt64) throws(GateError) -> BlobExtent {
        let slice = offset / sliceBytes
        guard state.withLock({ $0.local.contains(slice) }) else {
            throw .internal("extent of a cold slice: the writer would block")
        }
        return try file.extent(at: offset, maxLength: min(maxLength, (slice + 1) * sliceBytes - offset))
    }

    /// Slices a parked response waits for.
    var waitingFor: [UInt64] { state.withLock { $0.waiting.map(\.slice) } }
    var prepareCalls: Int { state.withLock { $0.prepareCalls } }

    /// Reports only the oldest waiter of `slice` (a fetch that finished late), leaving the slice cold.
    func deliverFirst(_ slice: UInt64, error: GateError) {
        let waiter = state.withLock { s -> (@Sendable (GateError?) -> Void)? in
            guard let i = s.waiting.firstIndex(where: { $0.slice == slice }) else { return nil }
            return s.waiting.remove(at: i).ready
        }
        waiter?(error)
    }

    /// The store answered for `slice`: local from now on (error nil), or the fetch failed.
    func deliver(_ slice: UInt64, error: GateError? = nil) {
        let waiters = state.withLock { s -> [@Sendable (GateError?) -> Void] in
            if error == nil { s.local.insert(slice) }
            let w = s.waiting.filter { $0.slice == slice }.map(\.ready)
            s.waiting.removeAll { $0.slice == slice }
            return w
        }
        for w in waiters { w(error) }
    }
}

@Suite struct ParkingTests {
    static let slice: UInt64 = 64 * 1024

    final class Fixture {
        let dir: TemporaryDirectory
        let bytes: [UInt8]
        let reader: GatedBlobReader

        init(size: Int, local: Set<UInt64> = []) throws {
            dir = try TemporaryDirectory(prefix: "parking")
            var random = SeededRandom(seed: 9)
            bytes = random.bytes(size)
            reader = try GatedBlobReader(
                path: try dir.write("blob", bytes), sliceBytes: ParkingTests.slice, local: local)
        }

        var handler: ScriptedHandler {
            let reader = self.reader
            return ScriptedHandler { request in
                if request.head.path == "/plain" { return Response.text(200, "plain") }
                return Response(status: 200, body: [.file(offset: 0, length: reader.size)], file: reader)
            }
        }
    }

    @Test("a cold first slice parks the response before its head; the loop serves others; delivery completes it")
    func parkedThenResumed() throws {
        let f = try Fixture(size: 3 * Int(Self.slice) + 100)
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        let client = try loop.connect()
        try client.send(.get("/blob"))
        try waitUntil("the response parked on slice 0") { f.reader.waitingFor == [0] }
        // Nothing was sent: not even the head, which would promise a status the store may not let us keep.
        #expect(client.queuedInbound == 0)
        // The loop is not blocked: another connection gets its answer meanwhile.
        let other = try loop.connect()
        #expect(try other.exchange(.get("/plain")).text == "plain\n")
        #expect(try loop.accessLog.nextJSON()["path"] as? String == "/plain")
        // Parked, not polling: the writer asked once for the cold slice.
        #expect(f.reader.prepareCalls == 1)
        f.reader.deliver(0)
        for s in 1...3 {
            try waitUntil("parked on slice \(s)") { f.reader.waitingFor == [UInt64(s)] }
            f.reader.deliver(UInt64(s))
        }
        let r = try client.readResponse()
        #expect(r.status == 200 && r.header("Content-Length") == String(f.bytes.count))
        #expect(byteDifference(r.body, f.bytes) == nil)
        // While sending, the writer announced the rest of the response's range for read-ahead.
        #expect(!f.reader.readAheads.isEmpty)
        #expect(f.reader.readAheads.allSatisfy { $0.end == UInt64(f.bytes.count) && $0.offset < $0.end })
        let line = try loop.accessLog.nextJSON()
        #expect(line["outcome"] as? String == "ok" && line["bytes"] as? Int == f.bytes.count)
        // Keep-alive goes on after a parked response.
        #expect(try client.exchange(.get("/plain")).status == 200)
    }

    @Test("a warm response inside one slice asks the reader once: the head's check covers the first body bytes")
    func warmAsksOnce() throws {
        let f = try Fixture(size: 1000, local: [0])
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        let r = try loop.connect().exchange(.get("/blob"))
        #expect(r.status == 200 && byteDifference(r.body, f.bytes) == nil)
        // One check before the head; the first sendfile at the same offset in the same turn does not repeat it
        // (each check of a slice-cache reader is a lock and a lookup, on every request).
        #expect(f.reader.prepareCalls == 1)
    }

    @Test("the store fails before the head: 503 with Retry-After and a short body, and the connection stays usable")
    func unavailableBeforeHead() throws {
        let f = try Fixture(size: 2 * Int(Self.slice))
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        let client = try loop.connect()
        try client.send(.get("/blob"))
        try waitUntil("the response parked") { f.reader.waitingFor == [0] }
        f.reader.deliver(0, error: .unavailable("object store unreachable: connection refused"))
        let r = try client.readResponse()
        #expect(r.status == 503)
        #expect(r.header("Retry-After") == "5")
        #expect(r.text.contains("try again"))
        #expect(r.header("Content-Length") == String(r.body.count))
        let line = try loop.accessLog.nextJSON()
        #expect(line["status"] as? Int == 503 && line["outcome"] as? String == "ok")
        #expect(line["note"] as? String == "store_unavailable")
        #expect(try loop.diagnostics.nextLine().contains("object store unreachable"))
        #expect(try client.exchange(.get("/plain")).status == 200)
    }

    @Test("a store error that is not about availability before the head is a 500")
    func otherErrorBeforeHead() throws {
        let f = try Fixture(size: 1000)
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        let client = try loop.connect()
        try client.send(.get("/blob"))
        try waitUntil("the response parked") { f.reader.waitingFor == [0] }
        f.reader.deliver(0, error: .io("slice 0 from the store does not match its recorded SHA-256"))
        let r = try client.readResponse()
        #expect(r.status == 500 && r.header("Retry-After") == nil)
        #expect(try loop.accessLog.nextJSON()["note"] as? String == "store_error")
    }

    @Test("the store fails after the head: the connection is cut short of Content-Length, logged store_unavailable")
    func unavailableAfterHead() throws {
        let f = try Fixture(size: 2 * Int(Self.slice) + 10, local: [0])
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        let client = try loop.connect()
        try client.send(.get("/blob"))
        try waitUntil("parked on slice 1") { f.reader.waitingFor == [1] }
        f.reader.deliver(1, error: .unavailable("object store did not answer within 10 s"))
        let received = try client.readToEnd()
        let headEnd = try #require(WriterTests.headLength(received))
        #expect(String(decoding: received[0..<headEnd], as: UTF8.self).contains("Content-Length: \(f.bytes.count)"))
        let body = Array(received[headEnd...])
        #expect(body.count == Int(Self.slice))
        #expect(byteDifference(body, Array(f.bytes.prefix(body.count))) == nil)
        let line = try loop.accessLog.nextJSON()
        #expect(line["status"] as? Int == 200 && line["outcome"] as? String == "store_unavailable")
        #expect(line["bytes"] as? Int == Int(Self.slice))
    }

    @Test("a client that leaves while its response is parked is released (no busy loop, no leak)")
    func clientLeavesWhileParked() throws {
        let f = try Fixture(size: 1000)
        let loop = try LoopHarness(handler: f.handler)
        defer { loop.stop() }
        var client: ClientSocket? = try loop.connect()
        try client!.send(.get("/blob"))
        try waitUntil("the response parked") { f.reader.waitingFor == [0] }
        client = nil
        // A late delivery for a connection that is gone is ignored.
        f.reader.deliver(0)
        let line = try loop.accessLog.nextJSON()
        #expect(line["outcome"] as? String == "client_abort" || line["outcome"] as? String == "ok")
        #expect(try loop.connect().exchange(.get("/plain")).status == 200)
    }
}

@Suite struct ParkingDeadlineTests {
    @Test("a store that never answers: after storeTimeoutMs the parked response is a 503; the late delivery is ignored")
    func storeTimeout() throws {
        let f = try ParkingTests.Fixture(size: 1000)
        var config = HTTPServerConfig()
        // Long enough that the second park below is answered by the test, not by the deadline, on a busy machine.
        config.storeTimeoutMs = 2000
        let loop = try LoopHarness(handler: f.handler, config: config)
        defer { loop.stop() }
        let client = try loop.connect()
        try client.send(.get("/blob"))
        try waitUntil("the response parked") { f.reader.waitingFor == [0] }
        let r = try client.readResponse()
        #expect(r.status == 503 && r.header("Retry-After") == "5")
        #expect(try loop.diagnostics.nextLine().contains("did not answer within 2000 ms"))
        // The same connection parks again on the next request; the first fetch's late report must not
        // resume (or fail) this new park.
        try client.send(.get("/blob"))
        try waitUntil("parked again") { f.reader.waitingFor == [0, 0] }
        f.reader.deliverFirst(0, error: .unavailable("late"))
        #expect(f.reader.waitingFor == [0])
        f.reader.deliver(0)
        let second = try client.readResponse()
        #expect(second.status == 200 && byteDifference(second.body, f.bytes) == nil)
    }
}
