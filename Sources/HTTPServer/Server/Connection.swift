//===----------------------------------------------------------------------===//
// ImageGate: one client connection's state, confined to its event loop.
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO

/// The request/response cycle of one TCP connection. Requests are handled strictly one at a time, so
/// pipelined responses leave in request order (RFC 9112 §9.3.2); bytes after the current request stay
/// buffered until its response is fully written.
final class Connection {
    enum State {
        /// TLS handshake in progress (HTTPS only).
        case handshaking
        /// Waiting for the first byte of the next request (keep-alive idle).
        case idle
        /// Some bytes of a request head are buffered.
        case readingHead
        /// Head parsed, `needed` body bytes still to come.
        case readingBody(RequestHead, needed: Int)
        /// A body streamed to the application's sink, `remaining` bytes still to come.
        case streamingBody(RequestHead, any BodySink, remaining: UInt64)
        /// The request was handled and its answer comes later from another thread (`ConnectionWaker.answer`);
        /// `forceClose` when unread body bytes remain. Always parked.
        case answering(RequestHead, forceClose: Bool)
        /// A response is being written.
        case writing(WriteJob, AccessRecord, keepAlive: Bool)
        /// Response done, write side shut: read and drop what the client still sends, then close, so a
        /// final error response is not destroyed by an RST (nginx lingering close).
        case lingering(deadlineMs: Int64)
    }

    let fd: Int32
    let tag: UInt64
    let peer: PeerAddress
    let transport: any Transport
    var state: State
    var buffer: [UInt8] = []
    var interest: EpollEvents = .readable
    var requestsServed = 0
    /// When the current request's first byte arrived (header deadline).
    var requestStartedMs: Int64 = 0
    /// Last time the peer sent or accepted bytes.
    var lastProgressMs: Int64
    var inReadyList = false
    /// The response waits for a slice of its file to be fetched (`WriteProgress.parked`), a body sink said
    /// `.wait`, or an answer comes later (`.answering`): no epoll interest until the report comes through the
    /// loop's mailbox (`LoopMailbox.sliceReady`, `bodyReport`).
    var parked = false
    /// When the connection parked (for a response: the store's deadline, `HTTPServerConfig.storeTimeoutMs`).
    var parkedSinceMs: Int64 = 0
    /// Parks so far: a report names the park it is for, so a late report (after the deadline answered, or
    /// for an earlier request's body) never resumes a later park.
    var parks: UInt64 = 0
    /// What a slice fetch calls for park number `park`: made once per park (only for responses whose file must
    /// be prepared), not per write turn.
    var sliceReady: (park: UInt64, call: @Sendable (GateError?) -> Void)?
    /// The peer half-closed: answer what is buffered, then close.
    var peerClosed = false
    /// Download sessions seen on this connection (`Response.session`): requests and body bytes.
    var sessions: [DownloadGrant: (requests: Int, bytes: UInt64)] = [:]
    /// What of each session's bytes the handler has been told for the link's usage.
    var usage: [DownloadGrant: UsageReporter] = [:]
    /// The array the last response's head was written to, reused for the next head (no allocation per response).
    var spareHead: [UInt8] = []

    init(fd: Int32, tag: UInt64, peer: PeerAddress, transport: any Transport, handshake: Bool, nowMs: Int64) {
        self.fd = fd
        self.tag = tag
        self.peer = peer
        self.transport = transport
        self.state = handshake ? .handshaking : .idle
        self.requestStartedMs = nowMs
        self.lastProgressMs = nowMs
        buffer.reserveCapacity(4096)
    }

    /// Moves the state out, leaving `.idle`: the caller owns the payload without copying it (a write turn copied
    /// its write job and access record out of the enum on every turn).
    func takeState() -> State {
        var taken = State.idle
        swap(&taken, &state)
        return taken
    }
}

@available(*, unavailable)
extension Connection: Sendable {}
