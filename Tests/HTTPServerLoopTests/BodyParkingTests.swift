//===----------------------------------------------------------------------===//
// ImageGate: request bodies whose sink works elsewhere (a part upload to an object store): the sink answers
// `.wait`, the loop stops reading that connection and serves the others, and resumes when told; answers that
// come later from another thread.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import HTTPServer
import Synchronization
import SystemIO
import Testing
import TestSupport

/// A body sink whose every `consume` (with `waits`) answers `.wait`, leaving the resume to the test.
final class GatedSink: BodySink, Sendable {
    struct State {
        var received: [UInt8] = []
        var consumes = 0
        var wakers: [ConnectionWaker] = []
        var abandons = 0
        var completes = 0
        var answer: ConnectionWaker?
    }
    let state = Mutex(State())
    let waits: Bool
    /// `complete` leaves its answer to the test (`answer`).
    let answersLater: Bool

    init(waits: Bool = true, answersLater: Bool = false) {
        self.waits = waits
        self.answersLater = answersLater
    }

    func consume(_ bytes: UnsafeRawBufferPointer, later: ConnectionWaker) -> BodyStep {
        state.withLock { s in
            s.received.append(contentsOf: bytes)
            s.consumes += 1
            guard waits else { return .more }
            s.wakers.append(later)
            return .wait
        }
    }

    func complete(later: ConnectionWaker) -> Response? {
        state.withLock { s in
            s.completes += 1
            if answersLater {
                s.answer = later
                return nil
            }
            return Response.text(200, "got \(s.received.count)")
        }
    }

    func abandon() { state.withLock { $0.abandons += 1 } }

    var consumes: Int { state.withLock { $0.consumes } }
    var parks: Int { state.withLock { $0.wakers.count } }
    var received: [UInt8] { state.withLock { $0.received } }
    var abandons: Int { state.withLock { $0.abandons } }
    func waker(_ i: Int) -> ConnectionWaker { state.withLock { $0.wakers[i] } }
    var answer: ConnectionWaker? { state.withLock { $0.answer } }
}

/// PUT bodies go to the sink; `GET /later` is answered by the test through the waker it leaves; anything else
/// is "plain".
final class StreamingHandler: RequestHandler {
    let sink: GatedSink
    let laterGets = Mutex<[ConnectionWaker]>([])

    init(sink: GatedSink) { self.sink = sink }

    func respond(to request: Request) -> Response { Response.text(200, "plain") }

    func respond(to request: Request, later: ConnectionWaker) -> Response? {
        guard request.head.path == "/later" else { return respond(to: request) }
        laterGets.withLock { $0.append(later) }
        return nil
    }

    func bodyHandling(for head: RequestHead, peer: PeerAddress, secure: Bool) -> BodyHandling { .stream(sink) }
    func loggablePath(_ path: String) -> String { path }
}

/// Sends bytes on a thread of its own: a parked server stops reading, so the send waits for the resumes.
final class Sender: @unchecked Sendable {
    // @unchecked: the client socket is used only by the sending thread until `join` returns.
    private let client: ClientSocket
    private var thread: OSThread?
    private let failure = Mutex<String?>(nil)

    init(_ client: ClientSocket, _ bytes: [UInt8]) {
        self.client = client
        thread = OSThread.spawn(name: "test-sender") { [self] in
            do { try self.client.send(bytes) } catch { failure.withLock { $0 = "\(error)" } }
        }
    }

    /// Waits for the last byte to be sent; the error if the send failed.
    func join() -> String? {
        thread?.join()
        thread = nil
        return failure.withLock { $0 }
    }
}

@Suite struct BodyParkingTests {
    static func upload(_ body: [UInt8]) -> [UInt8] { RawRequest("PUT", "/up", body: body).bytes }

    @Test(
        "a waiting sink gets no bytes while parked, the loop serves another connection, and the body arrives in order")
    func parkedBodyResumesInOrder() throws {
        let sink = GatedSink()
        let loop = try LoopHarness(handler: StreamingHandler(sink: sink))
        defer { loop.stop() }
        var random = SeededRandom(seed: 21)
        let body = random.bytes(2 << 20)
        let client = try loop.connect()
        let sender = Sender(client, Self.upload(body))
        let other = try loop.connect()
        var park = 0
        while true {
            try waitUntil("park \(park + 1)") { sink.parks == park + 1 }
            park += 1
            #expect(sink.consumes == park)
            // Parked: the loop answers another connection meanwhile, and still does not feed the sink.
            #expect(try other.exchange(.get("/plain")).status == 200)
            #expect(sink.consumes == park)
            let done = sink.received.count == body.count
            sink.waker(park - 1).resume()
            if done { break }
        }
        #expect(sender.join() == nil)
        let r = try client.readResponse()
        #expect(r.status == 200 && r.text == "got \(body.count)\n")
        #expect(sink.received == body)
        #expect(sink.abandons == 0)
        // Keep-alive goes on after a parked body.
        #expect(try client.exchange(.get("/plain")).status == 200)
    }

    @Test("a resume or an answer for an earlier park is ignored")
    func staleResumeIgnored() throws {
        let sink = GatedSink()
        let loop = try LoopHarness(handler: StreamingHandler(sink: sink))
        defer { loop.stop() }
        var random = SeededRandom(seed: 22)
        let body = random.bytes(1 << 20)
        let client = try loop.connect()
        let sender = Sender(client, Self.upload(body))
        try waitUntil("park 1") { sink.parks == 1 }
        sink.waker(0).resume()
        try waitUntil("park 2") { sink.parks == 2 }
        let consumed = sink.consumes
        // Park 1 again, twice: neither reads on nor answers park 2.
        sink.waker(0).resume()
        sink.waker(0).answer(Response.text(500, "stale"))
        // Handed to the loop after the stale reports: once it answers, they were handled.
        #expect(try loop.connect().exchange(.get("/plain")).status == 200)
        #expect(sink.consumes == consumed && sink.parks == 2)
        #expect(client.queuedInbound == 0)
        var park = 2
        while true {
            let done = sink.received.count == body.count
            sink.waker(park - 1).resume()
            if done { break }
            try waitUntil("park \(park + 1)") { sink.parks == park + 1 }
            park += 1
        }
        #expect(sender.join() == nil)
        let r = try client.readResponse()
        #expect(r.status == 200 && r.text == "got \(body.count)\n")
        #expect(sink.received == body)
    }

    @Test("a client that hangs up while its body is parked: the sink is abandoned once, a late resume does nothing")
    func hangUpWhileParked() throws {
        let sink = GatedSink()
        let loop = try LoopHarness(handler: StreamingHandler(sink: sink))
        defer { loop.stop() }
        var client: ClientSocket? = try loop.connect()
        var random = SeededRandom(seed: 23)
        // The head promises 1 MiB; 100 KiB come.
        let bytes =
            Array(RawRequest("PUT", "/up", headers: [("Content-Length", "1048576")]).bytes) + random.bytes(100_000)
        try client!.send(bytes)
        try waitUntil("parked") { sink.parks == 1 }
        client = nil  // closed
        try waitUntil("abandoned") { sink.abandons == 1 }
        let consumed = sink.consumes
        sink.waker(0).resume()
        #expect(try loop.connect().exchange(.get("/plain")).status == 200)
        #expect(sink.consumes == consumed && sink.abandons == 1)
        #expect(sink.state.withLock { $0.completes } == 0)
    }

    @Test("answers that come later: a body's and a GET's; nothing is sent before them, others are served meanwhile")
    func answersLater() throws {
        let sink = GatedSink(waits: false, answersLater: true)
        let handler = StreamingHandler(sink: sink)
        let loop = try LoopHarness(handler: handler)
        defer { loop.stop() }
        let client = try loop.connect()
        try client.send(Self.upload(Array(repeating: 7, count: 1000)))
        try waitUntil("the sink was asked for its answer") { sink.answer != nil }
        #expect(try loop.connect().exchange(.get("/plain")).status == 200)
        #expect(client.queuedInbound == 0)
        sink.answer!.answer(Response(status: 204))
        #expect(try client.readResponse().status == 204)
        #expect(sink.received.count == 1000)
        // A GET answered later, on the same keep-alive connection; a second answer for it is ignored.
        try client.send(.get("/later"))
        try waitUntil("the GET waits for its answer") { handler.laterGets.withLock { $0.count } == 1 }
        #expect(client.queuedInbound == 0)
        let later = handler.laterGets.withLock { $0[0] }
        later.answer(Response.text(200, "later"))
        #expect(try client.readResponse().text == "later\n")
        later.answer(Response.text(500, "twice"))
        #expect(try client.exchange(.get("/plain")).text == "plain\n")
    }
}
