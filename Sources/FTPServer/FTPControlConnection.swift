//===----------------------------------------------------------------------===//
// ImageGate: one FTP control connection on its own thread: read lines, run the state machine, act.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import SystemIO
import TLSSupport

/// What every connection of one listener shares.
final class FTPContext: Sendable {
    let config: FTPConfig
    /// The listener's current TLS context (a SIGHUP reload swaps it for new handshakes).
    let tlsHolder: TLSContextHolder?
    var tls: TLSContext? { tlsHolder?.current }
    let policy: any FTPAccessPolicy
    let accessLog: FTPAccessLog
    let logger: Logger
    let loginFailures: LoginThrottle

    init(config: FTPConfig, tls: TLSContextHolder?, policy: any FTPAccessPolicy, accessLog: LineSink?, logger: Logger) {
        self.config = config
        self.tlsHolder = tls
        self.policy = policy
        self.accessLog = FTPAccessLog(sink: accessLog)
        self.logger = logger
        self.loginFailures = LoginThrottle(
            limit: config.maxLoginFailuresPerPeer, window: .sliding, lengthMs: config.failureWindowSeconds * 1000)
    }
}

/// A control connection: blocking in spirit (one thread, poll() with deadlines), confined to its thread.
final class FTPControlConnection: ControlWatch {
    let ctx: FTPContext
    let stream: FTPStream
    let peer: PeerAddress
    let local: PeerAddress
    var session: FTPSession
    var inbuf: [UInt8] = []
    var passive: PassiveListener?
    var closing = false
    /// Body bytes and transfers of this control connection, for the session's audit record.
    var sessionBytes: UInt64 = 0
    var sessionTransfers = 0
    /// What of `sessionBytes` (and the transfer under way) the policy has been told for the link's usage.
    var usage = UsageReporter()
    /// Until a login succeeds, the connection must log in by this time (`FTPConfig.loginTimeoutMs`).
    let loginDeadlineMs: Int64

    var controlFD: Int32 { stream.fd }
    var proto: String { session.secureControl ? "ftps" : "ftp" }

    init(fd: Int32, peer: PeerAddress, ctx: FTPContext) {
        self.ctx = ctx
        self.stream = FTPStream(fd: fd)
        self.peer = normalized(peer)
        self.local = localAddress(fd) ?? PeerAddress(host: "127.0.0.1", port: 0, bytes: [127, 0, 0, 1])
        self.session = FTPSession(config: ctx.config, policy: ctx.policy, peer: self.peer, tlsAvailable: ctx.tls != nil)
        self.loginDeadlineMs = Monotonic.milliseconds() + ctx.config.loginTimeoutMs
    }

    enum LineRead {
        case line([UInt8])
        case tooLong
        case closed
        case idle
        case loginTimeout
    }

    func run() {
        defer {
            passive?.close()
            if let file = session.file {
                ctx.policy.usage(
                    file, newSession: true, bytes: usage.rest(total: sessionBytes), secure: session.secureControl,
                    peer: peer)
                ctx.policy.sessionEnded(
                    file, bytes: sessionBytes, transfers: sessionTransfers, secure: session.secureControl, peer: peer)
            }
        }
        guard send(.banner) else { return }
        while !closing {
            switch nextLine() {
            case .closed: return
            case .idle:
                _ = send(.timeout)
                return
            case .loginTimeout:
                ctx.logger.debug("ftp: \(peer): no login within \(ctx.config.loginTimeoutMs) ms; closing")
                _ = send(.loginTimeout)
                return
            case .tooLong:
                ctx.logger.warning("ftp: \(peer): command line over \(ctx.config.maxLineBytes) bytes; closing")
                perform(session.overlongLine())
            case .line(let raw):
                if let cmd = FTPCommand.parse(raw) {
                    ctx.logger.debug("ftp: \(peer) > \(cmd.loggable)")
                    perform(session.handle(cmd))
                } else {
                    perform(session.handle(line: raw))
                }
            }
        }
    }

    /// The next command line. While a passive listener waits, its 30 s limit is enforced here too.
    func nextLine() -> LineRead {
        let idleDeadline = Monotonic.milliseconds() + ctx.config.idleTimeoutMs
        var scratch = [UInt8](repeating: 0, count: 17 * 1024)
        while true {
            // Checked before every command too: chatter (USER, NOOP…) does not extend the login deadline.
            if !session.loggedIn && Monotonic.milliseconds() >= loginDeadlineMs { return .loginTimeout }
            if let l = takeLine() { return l.count > ctx.config.maxLineBytes ? .tooLong : .line(l) }
            if inbuf.count > ctx.config.maxLineBytes { return .tooLong }
            var deadline = idleDeadline
            if !session.loggedIn { deadline = min(deadline, loginDeadlineMs) }
            if let p = passive { deadline = min(deadline, p.openedMs + ctx.config.dataTimeoutMs) }
            let n: Int?
            do {
                n = try scratch.withUnsafeMutableBytes { b throws(GateError) in
                    try stream.read(into: b, deadlineMs: deadline)
                }
            } catch {
                ctx.logger.debug("ftp: \(peer): \(error)")
                return .closed
            }
            guard let n else {
                if let p = passive, Monotonic.milliseconds() >= p.openedMs + ctx.config.dataTimeoutMs {
                    p.close()
                    passive = nil
                    session.passiveOpen = false
                    continue
                }
                if !session.loggedIn && Monotonic.milliseconds() >= loginDeadlineMs { return .loginTimeout }
                return .idle
            }
            if n == 0 { return .closed }
            inbuf += scratch[0..<n]
        }
    }

    /// Removes and returns the first complete line (LF-terminated; a CR before it is dropped).
    func takeLine() -> [UInt8]? {
        guard let nl = inbuf.firstIndex(of: 0x0A) else { return nil }
        var line = Array(inbuf[..<nl])
        inbuf.removeSubrange(...nl)
        if line.last == 0x0D { line.removeLast() }
        return line
    }

    /// Sends a reply; false if the client is gone (the connection then ends).
    @discardableResult
    func send(_ reply: FTPReply) -> Bool {
        do {
            try stream.writeAll(reply.wire, deadlineMs: Monotonic.milliseconds() + ctx.config.sendTimeoutMs)
            return true
        } catch {
            closing = true
            return false
        }
    }

    func perform(_ effects: [FTPEffect]) {
        for e in effects where !closing {
            switch e {
            case .reply(let r): send(r)
            case .startTLS: startTLS()
            case .openPassive(let extended): openPassive(extended: extended)
            case .closePassive:
                passive?.close()
                passive = nil
            case .transfer(let t): transfer(t)
            case .loginFailed(let reason, let label):
                ctx.loginFailures.recordFailure(peer.host)
                ctx.logger.info("ftp: \(peer): login refused (\(reason), token \(label))")
                ctx.accessLog.write(
                    FTPAccessRecord(
                        startedMs: Monotonic.milliseconds(), proto: proto, peer: peer, method: "PASS", path: "",
                        status: 530, outcome: .denied, token: label, note: reason))
                // Constant pause whatever the reason: guessing is slow and timing says nothing.
                usleep(UInt32(max(0, min(ctx.config.loginFailureDelayMs, 60_000)) * 1000))
            case .loggedIn(let f):
                ctx.accessLog.write(
                    FTPAccessRecord(
                        startedMs: Monotonic.milliseconds(), proto: proto, peer: peer, method: "PASS",
                        path: "/" + f.name,
                        status: 230, outcome: .ok, token: f.logID))
            case .close: closing = true
            }
        }
    }

    private func startTLS() {
        guard let tls = ctx.tls else {
            closing = true
            return
        }
        // Bytes pipelined after AUTH were sent in clear: never let them count as protected commands
        // (the STARTTLS command-injection class, CVE-2011-0411).
        if !inbuf.isEmpty {
            ctx.logger.warning("ftp: \(peer): \(inbuf.count) bytes after AUTH TLS discarded")
            inbuf.removeAll()
        }
        do {
            try stream.startTLS(tls, deadlineMs: Monotonic.milliseconds() + ctx.config.dataTimeoutMs)
            session.tlsEstablished()
            ctx.logger.debug("ftp: \(peer): control connection on \(stream.tls?.protocolVersion ?? "?")")
        } catch {
            ctx.logger.info("ftp: \(peer): \(error.message)")
            closing = true
        }
    }

    private func openPassive(extended: Bool) {
        passive?.close()
        passive = nil
        do {
            let p = try PassiveListener.open(local: local, range: ctx.config.passivePorts)
            passive = p
            // 227 names the public address when one is set (the client reaches the node through it);
            // 229 carries only the port (RFC 2428 §3).
            let replyIP = ctx.config.passiveReplyAddress ?? local.bytes
            send(extended ? .extendedPassive(port: p.port) : .passive(ip: replyIP, port: p.port))
        } catch {
            ctx.logger.warning("ftp: \(peer): \(error.message)")
            session.passiveOpen = false
            send(FTPReply(425, "Can't open passive connection."))
        }
    }

    /// Mid-transfer: reads the control connection; ABOR or QUIT stop the transfer, other commands wait
    /// their turn (RFC 959 §4.1.3 lets only ABOR, STAT and QUIT interrupt).
    /// The transfer under way has sent `sent` bytes: report them once `UsageReporter.interval` gathered.
    func transferProgress(sent: UInt64) {
        guard let file = session.file, let bytes = usage.due(total: sessionBytes + sent) else { return }
        ctx.policy.usage(file, newSession: false, bytes: bytes, secure: session.secureControl, peer: peer)
    }

    func controlActivity() -> TransferOutcome? {
        var scratch = [UInt8](repeating: 0, count: 17 * 1024)
        let n: Int?
        do {
            n = try scratch.withUnsafeMutableBytes { b throws(GateError) in
                try stream.read(into: b, deadlineMs: Monotonic.milliseconds())
            }
        } catch {
            return .controlLost
        }
        if n == 0 { return .controlLost }
        if let n { inbuf += scratch[0..<n] }
        if inbuf.count > 64 * 1024 { return .controlLost }
        var start = 0
        while let nl = inbuf[start...].firstIndex(of: 0x0A) {
            var line = inbuf[start..<nl]
            if line.last == 0x0D { line = line.dropLast() }
            if let cmd = FTPCommand.parse(line), cmd.verb == "ABOR" || cmd.verb == "QUIT" {
                inbuf.removeSubrange(start...nl)
                return cmd.verb == "ABOR" ? .aborted : .quit
            }
            start = nl + 1
        }
        return nil
    }
}

@available(*, unavailable)
extension FTPControlConnection: Sendable {}
