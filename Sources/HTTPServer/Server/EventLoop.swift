//===----------------------------------------------------------------------===//
// ImageGate: one epoll event loop thread: accept, read, parse, dispatch, write, time out.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import Synchronization
import SystemIO
import TLSSupport

/// Everything a loop shares with its siblings (immutable or internally locked).
struct LoopContext: Sendable {
    let listener: Int32
    let handler: any RequestHandler
    let config: HTTPServerConfig
    let limiter: ConnectionLimiter
    let accessLog: AccessLog
    let logger: Logger
    /// Present on an HTTPS listener; read at each accept, so a reload applies to new connections.
    let tls: TLSContextHolder?
    /// One per loop of this listener, in loop order.
    let mailboxes: [LoopMailbox]
    var secure: Bool { tls != nil }
    /// Deadline for a TLS handshake (slow or silent TLS clients).
    static let handshakeTimeoutMs: Int64 = 10_000
    /// Connections accepted per wake-up before the loop serves its other sockets again.
    static let acceptsPerWake = 64
    /// `Retry-After` of the 503 answered when the object store fails before a response's head went out.
    static let storeRetryAfterSeconds = 5
}

/// Owns its connections and its epoll instance; runs on one `OSThread` and is never touched from another.
final class EventLoop {
    private static let listenerTag = UInt64.max
    private static let wakeTag = UInt64.max - 1

    private let ctx: LoopContext
    private let epoll: Epoll
    private let mailbox: LoopMailbox
    private let parser: RequestParser
    private var connections = ConnectionTable()
    private var ready: [Connection] = []
    private var nextGeneration: UInt64 = 1
    private var stopping = false
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    /// File bytes on their way into TLS, shared by this loop's HTTPS connections (`TLSScratch`).
    private let tlsScratch = TLSScratch()
    private var cachedDateSecond: Int64 = -1
    private var cachedDate = ""

    init(ctx: LoopContext, index: Int) throws(SystemError) {
        self.ctx = ctx
        self.mailbox = ctx.mailboxes[index]
        self.epoll = try Epoll()
        self.parser = RequestParser(limits: ctx.config.parseLimits)
        try epoll.add(ctx.listener, [.readable, .exclusive], data: Self.listenerTag)
        try epoll.add(mailbox.wake.fd, .readable, data: Self.wakeTag)
    }

    func run() {
        var lastSweep = Monotonic.milliseconds()
        while !stopping {
            epoll.wait(timeoutMs: ready.isEmpty ? 1000 : 0) { data, events in
                switch data {
                case Self.listenerTag: acceptAll()
                case Self.wakeTag:
                    mailbox.wake.drain()
                    for (fd, peer) in mailbox.takeAll() { adopt(fd, peer) }
                    for (tag, park, error) in mailbox.takeReadySlices() { unpark(tag, park: park, error) }
                    for (tag, park, answer) in mailbox.takeBodyReports() { resumeBody(tag, park: park, answer) }
                    if mailbox.stopRequested { stopping = true }
                default: onEvent(data, events)
                }
            }
            if !ready.isEmpty {
                let turn = ready
                ready.removeAll(keepingCapacity: true)
                for c in turn {
                    c.inReadyList = false
                    if connections[c.fd] === c { drive(c) }
                }
            }
            let now = Monotonic.milliseconds()
            if now - lastSweep >= 1000 {
                lastSweep = now
                sweep(now)
                ctx.handler.tick(nowMs: now)
            }
        }
        for c in Array(connections.values) { close(c, outcome: .shutdown) }
        epoll.remove(ctx.listener)
        // Handed over but never adopted (the listener closes what arrives after this, once every loop exited).
        for (fd, peer) in mailbox.takeAll() { EventLoop.discard(fd, peer, ctx: ctx, box: mailbox) }
    }

    /// Closes a socket that was handed to `box` but will never be served.
    static func discard(_ fd: Int32, _ peer: PeerAddress, ctx: LoopContext, box: LoopMailbox) {
        Sys.close(fd)
        ctx.limiter.release(peer.bytes)
        box.open.subtract(1, ordering: .relaxed)
    }

    // MARK: accept

    /// Accepts what is pending (at most `acceptsPerWake`; the level-triggered listener wakes us again for
    /// the rest) and gives each connection to the loop that owns the fewest.
    private func acceptAll() {
        for _ in 0..<LoopContext.acceptsPerWake {
            let r: IOResult<(Int32, PeerAddress)>
            do {
                r = try Socket.accept(ctx.listener)
            } catch {
                // EMFILE/ENFILE/ECONNABORTED: nothing to accept now; the listener stays armed.
                if error.errno != ECONNABORTED { ctx.logger.warning("accept failed: \(error)") }
                return
            }
            guard case .processed(let (fd, peer)) = r else { return }
            guard ctx.limiter.acquire(peer.bytes) else {
                let busy = Array(
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                _ = try? busy.withUnsafeBytes { try Socket.send(fd, $0, more: false) }
                Sys.close(fd)
                continue
            }
            Socket.setNoDelay(fd)
            let target = LoopMailbox.leastLoaded(ctx.mailboxes, preferred: mailbox.index)
            ctx.mailboxes[target].open.add(1, ordering: .relaxed)
            if target == mailbox.index {
                adopt(fd, peer)
            } else {
                ctx.mailboxes[target].hand(fd, peer)
            }
        }
    }

    /// Takes ownership of an accepted socket (already counted in `mailbox.open`): transport, epoll, table.
    private func adopt(_ fd: Int32, _ peer: PeerAddress) {
        mailbox.owned.add(1, ordering: .relaxed)
        let tag = nextGeneration << 32 | UInt64(UInt32(bitPattern: fd))
        nextGeneration += 1
        let transport: any Transport
        if let tls = ctx.tls {
            guard let session = try? TLSSession(context: tls.current, fd: fd) else {
                return EventLoop.discard(fd, peer, ctx: ctx, box: mailbox)
            }
            transport = TLSTransport(session: session, scratch: tlsScratch)
        } else {
            transport = PlainTransport(fd: fd)
        }
        let c = Connection(
            fd: fd, tag: tag, peer: peer, transport: transport, handshake: ctx.tls != nil,
            nowMs: Monotonic.milliseconds())
        do {
            try epoll.add(fd, .readable, data: tag)
        } catch {
            return EventLoop.discard(fd, peer, ctx: ctx, box: mailbox)
        }
        connections[fd] = c
    }

    // MARK: events

    private func onEvent(_ tag: UInt64, _ events: EpollEvents) {
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: tag))
        // A stale event for a descriptor number that was closed and reused in this batch: ignore.
        guard let c = connections[fd], c.tag == tag else { return }
        if c.parked {
            // Only errors and hang-ups are reported while parked (no interest): the client is gone.
            if !events.intersection([.error, .hangup]).isEmpty { close(c, outcome: .clientAbort) }
            return
        }
        switch c.state {
        case .handshaking, .writing:
            drive(c)
        case .lingering:
            if readAvailable(c, discard: true) != .open { close(c, outcome: nil) }
        default:
            switch readAvailable(c, discard: false) {
            case .failed:
                close(c, outcome: nil)
                return
            case .endOfInput:
                // A half-close after a complete request still deserves its answer (then we close).
                c.peerClosed = true
            case .open:
                break
            }
            drive(c)
            closeIfUnanswerable(c)
        }
    }

    /// A peer that half-closed before its request was whole gets no answer: close. A body whose last bytes a
    /// parked sink holds is whole (its answer comes).
    private func closeIfUnanswerable(_ c: Connection) {
        guard c.peerClosed, connections[c.fd] === c else { return }
        switch c.state {
        case .idle, .readingHead, .readingBody: close(c, outcome: nil)
        case .streamingBody(_, _, let remaining) where remaining > 0 || !c.parked: close(c, outcome: nil)
        default: break
        }
    }

    private enum ReadStatus { case open, endOfInput, failed }

    /// Reads what is available without blocking.
    private func readAvailable(_ c: Connection, discard: Bool) -> ReadStatus {
        if c.peerClosed { return .endOfInput }
        while true {
            let r = scratch.withUnsafeMutableBytes { c.transport.read(into: $0) }
            let n: Int
            switch r {
            case .done(let got): n = got
            case .wouldBlock: return .open
            case .endOfInput: return .endOfInput
            case .failed: return .failed
            }
            c.lastProgressMs = Monotonic.milliseconds()
            if !discard {
                if c.buffer.isEmpty, case .idle = c.state { c.requestStartedMs = c.lastProgressMs }
                c.buffer.append(contentsOf: scratch[0..<n])
                // Enough to decide: the parser fails past its limits, a body past its length is the next request.
                if c.buffer.count > ctx.config.parseLimits.maxHeaderBytes + ctx.config.maxBodyBytes { return .open }
            }
            // A short read drained the socket (epoll reports the rest). TLS returns one record per read: one
            // shorter than the 16 KiB maximum ends what the peer sent in one go (a request head) unless
            // OpenSSL still holds received bytes epoll cannot see. Full records (uploads) read on to EAGAIN.
            let short = ctx.secure ? n < 16 * 1024 : n < scratch.count
            if short && !c.transport.hasBufferedInput { return .open }
        }
    }

    // MARK: the request/response cycle

    /// Advances the connection as far as it can go without waiting.
    private func drive(_ c: Connection) {
        while true {
            switch c.state {
            case .handshaking:
                switch c.transport.prepare() {
                case .done:
                    c.state = .idle
                    c.requestStartedMs = Monotonic.milliseconds()
                    setInterest(c, .readable)
                    // Application data may have arrived with the final handshake flight.
                    switch readAvailable(c, discard: false) {
                    case .failed:
                        close(c, outcome: nil)
                        return
                    case .endOfInput: c.peerClosed = true
                    case .open: break
                    }
                case .wouldBlock(let needs):
                    setInterest(c, needs)
                    return
                case .endOfInput, .failed:
                    close(c, outcome: nil)
                    return
                }
            case .idle, .readingHead:
                if c.buffer.isEmpty {
                    c.state = .idle
                    return
                }
                let result = c.buffer.withUnsafeBytes { parser.parse($0) }
                switch result {
                case .needMore:
                    c.state = .readingHead
                    return
                case .failure(let e):
                    let record = AccessRecord(
                        startedMs: c.requestStartedMs, peer: c.peer, method: "-", head: nil, status: e.status,
                        bytesSent: 0, outcome: .badRequest, note: e.reason)
                    start(
                        c, Response.text(e.status, StatusText.reason(e.status), close: true), record: record,
                        version: .http11, isHead: false, keepAlive: false)
                case .head(let head, let consumed):
                    c.buffer.removeFirst(consumed)
                    admit(c, head)
                }
            case .readingBody(let head, let needed):
                guard c.buffer.count >= needed else { return }
                let body = Array(c.buffer[0..<needed])
                c.buffer.removeFirst(needed)
                dispatch(c, head, body: body)
            case .streamingBody(let head, let sink, let remaining):
                if c.parked || (c.buffer.isEmpty && remaining > 0) { return }
                let n = Int(min(UInt64(c.buffer.count), remaining))
                let later = waker(c)
                let step =
                    n == 0
                    ? BodyStep.more
                    : c.buffer.withUnsafeBytes {
                        sink.consume(UnsafeRawBufferPointer(rebasing: $0[0..<n]), later: later)
                    }
                c.buffer.removeFirst(n)
                let left = remaining - UInt64(n)
                if step == .wait {
                    // The sink took the bytes and works elsewhere: read nothing more until it resumes us.
                    c.state = .streamingBody(head, sink, remaining: left)
                    park(c)
                    return
                }
                if step == .more && left > 0 {
                    c.state = .streamingBody(head, sink, remaining: left)
                    return
                }
                // Done, or the sink refused: answer; a refusal leaves unread body bytes, so close after it.
                guard let response = sink.complete(later: waker(c)) else {
                    c.state = .answering(head, forceClose: left > 0)
                    park(c)
                    return
                }
                respond(c, head, response, forceClose: left > 0)
            case .answering:
                return
            case .writing:
                if c.parked { return }
                // Moved out, not copied: the job and record are written back only when the write must wait.
                guard case .writing(var job, let record, let keepAlive) = c.takeState() else { return }
                let progress = job.advance(c.transport, budget: ctx.config.writeChunkBytes) {
                    // For the park this turn would start: reused while turns find their bytes local.
                    let park = c.parks + 1
                    if let ready = c.sliceReady, ready.park == park { return ready.call }
                    let call: @Sendable (GateError?) -> Void = { [mailbox, tag = c.tag] error in
                        mailbox.sliceReady(tag: tag, park: park, error: error)
                    }
                    c.sliceReady = (park, call)
                    return call
                }
                if job.bodySent > 0 || job.headSent > 0 { c.lastProgressMs = Monotonic.milliseconds() }
                switch progress {
                case .finished:
                    c.spareHead = job.head  // its storage takes the next response's head
                    var rec = record
                    rec.bytesSent = job.bodySent
                    finish(c, rec, keepAlive: keepAlive)
                    if case .lingering = c.state { return }
                    if connections[c.fd] !== c { return }
                case .blocked(let needs):
                    if let grant = record.session { reportUsage(c, grant, inFlight: job.bodySent) }
                    c.state = .writing(job, record, keepAlive: keepAlive)
                    setInterest(c, needs)
                    return
                case .yielded:
                    if let grant = record.session { reportUsage(c, grant, inFlight: job.bodySent) }
                    c.state = .writing(job, record, keepAlive: keepAlive)
                    if !c.inReadyList {
                        c.inReadyList = true
                        ready.append(c)
                    }
                    return
                case .parked:
                    c.state = .writing(job, record, keepAlive: keepAlive)
                    park(c)
                    return
                case .failed(let why):
                    var rec = record
                    rec.bytesSent = job.bodySent
                    rec.outcome = why
                    logged(c, rec)
                    if why == .truncated { ctx.logger.error("file truncated while sending to \(c.peer)") }
                    close(c, outcome: nil)
                    return
                }
            case .lingering:
                return
            }
        }
    }

    /// Applies framing policy to a parsed head before any body is read.
    private func admit(_ c: Connection, _ head: RequestHead) {
        let isGetOrHead = head.method == "GET" || head.method == "HEAD"
        func refuse(_ status: Int, _ why: String) {
            let record = AccessRecord(
                startedMs: c.requestStartedMs, peer: c.peer, method: head.method,
                head: head, status: status, bytesSent: 0, outcome: .refused,
                note: why)
            start(
                c, Response.text(status, why, close: true), record: record, version: head.version,
                isHead: head.method == "HEAD", keepAlive: false)
        }
        if head.contentLength > 0 && isGetOrHead {
            // Docs/protocols.md §2.2: a GET with a body is a smuggling vector; answer and close.
            return refuse(400, "GET and HEAD requests take no body")
        }
        if !isGetOrHead {
            switch ctx.handler.bodyHandling(for: head, peer: c.peer, secure: ctx.secure) {
            case .buffer: break
            case .refuse(let response):
                return respond(c, head, response, forceClose: head.contentLength > 0)
            case .stream(let sink):
                if head.expectsContinue && head.contentLength > UInt64(c.buffer.count) { sendContinue(c) }
                c.state = .streamingBody(head, sink, remaining: head.contentLength)
                return
            }
        }
        if head.contentLength > UInt64(ctx.config.maxBodyBytes) {
            return refuse(413, "request body too large")
        }
        if head.contentLength == 0 {
            return dispatch(c, head, body: [])
        }
        let needed = Int(head.contentLength)
        if head.expectsContinue && c.buffer.count < needed { sendContinue(c) }
        c.state = .readingBody(head, needed: needed)
    }

    /// `100 Continue` (RFC 9110 §10.1.1), through the transport so it is encrypted on TLS. Best effort: the
    /// socket buffer is empty at this point, so a 25-byte write does not block.
    private func sendContinue(_ c: Connection) {
        let cont = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
        _ = cont.withUnsafeBytes { c.transport.send($0, followedBy: 0) }
    }

    private func dispatch(_ c: Connection, _ head: RequestHead, body: [UInt8]) {
        let request = Request(head: head, peer: c.peer, body: body, secure: ctx.secure)
        guard let response = ctx.handler.respond(to: request, later: waker(c)) else {
            c.state = .answering(head, forceClose: false)
            return park(c)
        }
        respond(c, head, response, forceClose: false)
    }

    /// What the application calls to end the park this connection would start next.
    private func waker(_ c: Connection) -> ConnectionWaker {
        ConnectionWaker(mailbox: mailbox, tag: c.tag, park: c.parks + 1)
    }

    /// Stops reading (and writing) the connection until a report for this park arrives; errors and hang-ups
    /// are still reported by epoll.
    private func park(_ c: Connection) {
        c.parked = true
        c.parks += 1
        c.parkedSinceMs = Monotonic.milliseconds()
        setInterest(c, [])
    }

    /// A parked body's sink resumes (`answer` nil), or a later answer arrived. A report for another park or
    /// a connection that is gone is ignored.
    private func resumeBody(_ tag: UInt64, park: UInt64, _ answer: HandedResponse?) {
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: tag))
        guard let c = connections[fd], c.tag == tag, c.parked, c.parks == park else { return }
        switch c.state {
        case .streamingBody where answer == nil:
            c.parked = false
            c.lastProgressMs = Monotonic.milliseconds()
            setInterest(c, .readable)
            // The bytes read before the park go through first; the socket's are reported by epoll.
            drive(c)
            closeIfUnanswerable(c)
        case .answering(let head, let forceClose):
            guard let answer else { return }
            c.parked = false
            respond(c, head, answer.response, forceClose: forceClose)
            drive(c)
        default:
            return
        }
    }

    private func respond(_ c: Connection, _ head: RequestHead, _ response: Response, forceClose: Bool) {
        c.requestsServed += 1
        let keepAlive =
            head.keepAlive && !response.closeConnection && !stopping && !c.peerClosed && !forceClose
            && c.requestsServed < ctx.config.maxRequestsPerConnection
        let record = AccessRecord(
            startedMs: c.requestStartedMs, peer: c.peer, method: head.method,
            head: head, status: response.status, bytesSent: 0, outcome: .ok,
            note: response.note, session: response.session)
        start(
            c, response, record: record, version: head.version, isHead: head.method == "HEAD",
            keepAlive: keepAlive)
    }

    private func start(
        _ c: Connection, _ response: Response, record: AccessRecord, version: HTTPVersion, isHead: Bool,
        keepAlive: Bool
    ) {
        var head = c.spareHead
        c.spareHead = []
        ResponseHeadWriter.serialize(response, version: version, date: httpDate(), keepAlive: keepAlive, into: &head)
        let job = WriteJob(
            head: head, pieces: isHead ? [] : response.body, file: isHead ? nil : response.file, version: version)
        c.state = .writing(job, record, keepAlive: keepAlive)
    }

    /// A parked connection's slice is local (`error` nil: write on) or could not be fetched. Before the head
    /// went out the client gets a clean 503 with `Retry-After` (500 when it is not the store's availability);
    /// after it the connection is cut, so a 200/206 is never shorter than its Content-Length (the client
    /// resumes with a range request).
    private func unpark(_ tag: UInt64, park: UInt64, _ error: GateError?) {
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: tag))
        guard let c = connections[fd], c.tag == tag, c.parked, c.parks == park, case .writing = c.state else { return }
        c.parked = false
        c.lastProgressMs = Monotonic.milliseconds()
        guard let error, case .writing(let job, var record, let keepAlive) = c.state else { return drive(c) }
        ctx.logger.warning("response to \(c.peer) for \(ctx.handler.loggablePath(record.path)): \(error.message)")
        if job.headSent > 0 {
            return close(c, outcome: .storeUnavailable)
        }
        let response: Response
        if error.code == .unavailable {
            response = Response.text(
                503, "The image store is not available right now; try again shortly.",
                headers: [("Retry-After", String(LoopContext.storeRetryAfterSeconds))])
        } else {
            response = Response.text(500, StatusText.reason(500))
        }
        record.status = response.status
        record.note = error.code == .unavailable ? "store_unavailable" : "store_error"
        start(c, response, record: record, version: job.version, isHead: false, keepAlive: keepAlive)
        drive(c)
    }

    /// Writes the access line and counts the request toward its download session.
    private func logged(_ c: Connection, _ record: AccessRecord) {
        ctx.accessLog.write(record, nowMs: Monotonic.milliseconds(), wallNow: SystemClock().now())
        if let grant = record.session {
            // One dictionary lookup per request (updated in place), not three (issue 17).
            let total = Self.add(record.bytesSent, to: &c.sessions[grant, default: (0, 0)])
            reportUsage(c, grant, total: total)
        }
    }

    private static func add(_ bytes: UInt64, to session: inout (requests: Int, bytes: UInt64)) -> UInt64 {
        session.requests += 1
        session.bytes += bytes
        return session.bytes
    }

    /// Tells the handler about a session's bytes once `UsageReporter.interval` have gathered (a long response,
    /// or many ranges on one keep-alive connection), so a link's usage grows while its transfer runs.
    private func reportUsage(_ c: Connection, _ grant: DownloadGrant, inFlight: UInt64) {
        reportUsage(c, grant, total: (c.sessions[grant]?.bytes ?? 0) + inFlight)
    }

    /// `total`: the session's bytes so far, the response in flight included.
    private func reportUsage(_ c: Connection, _ grant: DownloadGrant, total: UInt64) {
        guard total >= UsageReporter.interval else { return }
        var reporter = c.usage[grant] ?? UsageReporter()
        guard let bytes = reporter.due(total: total) else { return }
        c.usage[grant] = reporter
        ctx.handler.sessionUsage(grant, secure: ctx.secure, newSession: false, bytes: bytes, peer: c.peer)
    }

    private func finish(_ c: Connection, _ record: AccessRecord, keepAlive: Bool) {
        logged(c, record)
        if keepAlive {
            c.state = .idle
            c.requestStartedMs = Monotonic.milliseconds()
            setInterest(c, .readable)
        } else {
            c.transport.shutdownWrite(fd: c.fd)
            c.buffer.removeAll()
            c.state = .lingering(deadlineMs: Monotonic.milliseconds() + 2000)
            setInterest(c, .readable)
        }
    }

    private func setInterest(_ c: Connection, _ interest: EpollEvents) {
        guard c.interest != interest else { return }
        c.interest = interest
        try? epoll.modify(c.fd, interest, data: c.tag)
    }

    private func close(_ c: Connection, outcome: AccessOutcome?) {
        guard connections[c.fd] === c else { return }
        // Release the socket and the response's file first, then log: whoever reads the log line may rely on
        // the descriptors being gone.
        var previous = c.state
        c.state = .idle
        connections[c.fd] = nil
        epoll.remove(c.fd)
        Sys.close(c.fd)
        ctx.limiter.release(c.peer.bytes)
        mailbox.open.subtract(1, ordering: .relaxed)
        var cut: AccessRecord?
        if let outcome, case .writing(let job, var record, _) = previous {
            record.bytesSent = job.bodySent
            record.outcome = outcome
            cut = record
        }
        if case .streamingBody(_, let sink, _) = previous { sink.abandon() }
        previous = .idle  // the last reference to the response's file: closed here
        if let cut { logged(c, cut) }
        for (grant, s) in c.sessions {
            var reporter = c.usage[grant] ?? UsageReporter()
            ctx.handler.sessionUsage(
                grant, secure: ctx.secure, newSession: true, bytes: reporter.rest(total: s.bytes), peer: c.peer)
            ctx.handler.sessionEnded(grant, secure: ctx.secure, requests: s.requests, bytes: s.bytes, peer: c.peer)
        }
        c.sessions = [:]
        c.usage = [:]
    }

    // MARK: timeouts

    private func sweep(_ now: Int64) {
        for c in Array(connections.values) {
            switch c.state {
            case .handshaking:
                if now - c.requestStartedMs > LoopContext.handshakeTimeoutMs { close(c, outcome: nil) }
            case .idle:
                if now - c.lastProgressMs > ctx.config.idleTimeoutMs { close(c, outcome: nil) }
            case .readingHead, .readingBody:
                if now - c.requestStartedMs > ctx.config.headerTimeoutMs { close(c, outcome: nil) }
            case .streamingBody:
                // Uploads may take hours; what must not happen is a stall. A parked body waits for its sink,
                // whose work elsewhere has its own deadline (an object store's blobs.timeout per attempt).
                if !c.parked && now - c.lastProgressMs > ctx.config.sendTimeoutMs { close(c, outcome: nil) }
            case .answering:
                break  // the application answers (its own deadlines); a hang-up meanwhile closes
            case .writing:
                if c.parked {
                    // The store did not deliver within blobs.timeout: answer now (its late report is ignored).
                    if now - c.parkedSinceMs > ctx.config.storeTimeoutMs {
                        let ms = ctx.config.storeTimeoutMs
                        unpark(c.tag, park: c.parks, .unavailable("the object store did not answer within \(ms) ms"))
                    }
                } else if now - c.lastProgressMs > ctx.config.sendTimeoutMs {
                    close(c, outcome: .sendTimeout)
                }
            case .lingering(let deadline):
                if now > deadline { close(c, outcome: nil) }
            }
        }
    }

    private func httpDate() -> String {
        let now = SystemClock().now()
        if now != cachedDateSecond {
            cachedDateSecond = now
            cachedDate = TimeFormat.httpDate(now)
        }
        return cachedDate
    }
}

@available(*, unavailable)
extension EventLoop: Sendable {}
