//===----------------------------------------------------------------------===//
// ImageGate: the FTP listener: accept, session caps, one OS thread per control connection, stop.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import Synchronization
import SystemIO
import TLSSupport

/// Serves FTP (and FTPS with explicit AUTH TLS, RFC 4217) on one address. Each control connection runs on its
/// own OS thread with poll() deadlines, never on Swift's cooperative pool (Docs/style.md §2.5); sessions are capped.
public final class FTPListener: Sendable {
    public let address: ListenAddress
    /// The bound port (differs from `address.port` when that was 0).
    public let port: UInt16
    private let fd: Int32
    private let registry: SessionRegistry
    private let acceptThread: Mutex<OSThread?>

    /// Binds `address` and starts accepting.
    /// - Parameters:
    ///   - tls: the context for AUTH TLS and PROT P data connections; nil offers plain FTP only.
    ///   - accessLog: one JSON line per login and transfer, or nil.
    /// - Throws: `GateError.usage` when neither TLS nor plain FTP is possible, `.io` when binding fails.
    public static func start(
        address: ListenAddress, config: FTPConfig, tls: TLSContext?, policy: any FTPAccessPolicy,
        accessLog: LineSink?, logger: Logger
    ) throws(GateError) -> FTPListener {
        try start(
            address: address, config: config, tls: tls.map(TLSContextHolder.init), policy: policy, accessLog: accessLog,
            logger: logger)
    }

    /// As above, with a replaceable context: new AUTH TLS handshakes use whatever the holder holds then.
    public static func start(
        address: ListenAddress, config: FTPConfig, tls: TLSContextHolder?, policy: any FTPAccessPolicy,
        accessLog: LineSink?, logger: Logger
    ) throws(GateError) -> FTPListener {
        guard tls != nil || config.allowPlain else {
            throw GateError.usage("FTP needs a TLS certificate unless plain FTP is allowed")
        }
        let fd: Int32
        do {
            fd = try Socket.listen(address, backlog: 128)
        } catch {
            throw GateError.io("cannot listen on \(address): \(error)")
        }
        let ctx = FTPContext(config: config, tls: tls, policy: policy, accessLog: accessLog, logger: logger)
        let listener = FTPListener(address: address, port: Socket.localPort(fd), fd: fd, registry: SessionRegistry())
        let registry = listener.registry
        let thread = OSThread.spawn(name: "ftp-accept") { Self.acceptLoop(fd: fd, ctx: ctx, registry: registry) }
        listener.acceptThread.withLock { $0 = thread }
        return listener
    }

    private init(address: ListenAddress, port: UInt16, fd: Int32, registry: SessionRegistry) {
        self.address = address
        self.port = port
        self.fd = fd
        self.registry = registry
        self.acceptThread = Mutex(nil)
    }

    /// Control connections now open.
    public var openSessions: Int { registry.count }

    /// Stops accepting, cuts every session (transfers end short; clients resume with REST), waits for them.
    public func stop() {
        registry.beginStop()
        if let t = acceptThread.withLock({ t -> OSThread? in
            let x = t
            t = nil
            return x
        }) {
            t.join()
        }
        Sys.close(fd)
        registry.joinAll()
    }

    private static func acceptLoop(fd: Int32, ctx: FTPContext, registry: SessionRegistry) {
        while !registry.stopping {
            registry.reap()
            let r = pollFDs([(fd, pollIn)], deadlineMs: Monotonic.milliseconds() + 250)
            guard r[0] != 0 else { continue }
            guard case .processed(let (conn, peer))? = try? Socket.accept(fd) else { continue }
            let who = normalized(peer)
            if let refusal = admit(who, ctx: ctx, registry: registry) {
                // Best effort: the socket buffer takes a one-line reply without waiting.
                _ = refusal.wire.withUnsafeBytes { try? Socket.send(conn, $0, more: false) }
                Sys.close(conn)
                ctx.logger.info("ftp: \(who): refused: \(refusal.lines[0])")
                continue
            }
            let id = registry.add(fd: conn, host: who.host)
            let thread = OSThread.spawn(name: "ftp-session") {
                FTPControlConnection(fd: conn, peer: who, ctx: ctx).runUnregistering(id: id, registry: registry)
            }
            registry.attach(id: id, thread: thread)
        }
    }

    private static func admit(_ who: PeerAddress, ctx: FTPContext, registry: SessionRegistry) -> FTPReply? {
        if ctx.loginFailures.isLocked(who.host) {
            return FTPReply(421, "Too many failed logins from your address: try again later.")
        }
        let (total, fromPeer) = registry.counts(host: who.host)
        if total >= ctx.config.maxSessions { return FTPReply(421, "Too many connections: try again later.") }
        if fromPeer >= ctx.config.maxSessionsPerPeer {
            return FTPReply(421, "Too many connections from your address: try again later.")
        }
        return nil
    }
}

extension FTPControlConnection {
    /// Runs the session, then leaves the registry before the descriptor is closed, so `stop()` never shuts
    /// down a descriptor number that was already reused.
    func runUnregistering(id: Int, registry: SessionRegistry) {
        run()
        registry.remove(id: id)
        stream.close()
    }
}

/// The open sessions: descriptors to cut on stop, threads to join once they end.
final class SessionRegistry: Sendable {
    private struct State {
        var nextID = 0
        var stopping = false
        var sessions: [Int: (fd: Int32, host: String)] = [:]
        var threads: [Int: OSThread] = [:]
        var ended: Set<Int> = []
    }
    private let state = Mutex(State())

    var stopping: Bool { state.withLock { $0.stopping } }
    var count: Int { state.withLock { $0.sessions.count } }

    func counts(host: String) -> (Int, Int) {
        state.withLock { s in (s.sessions.count, s.sessions.values.filter { $0.host == host }.count) }
    }

    func add(fd: Int32, host: String) -> Int {
        state.withLock { s in
            s.nextID += 1
            s.sessions[s.nextID] = (fd, host)
            if s.stopping { Socket.shutdown(fd) }
            return s.nextID
        }
    }

    func attach(id: Int, thread: OSThread) { state.withLock { $0.threads[id] = thread } }

    func remove(id: Int) {
        state.withLock { s in
            s.sessions[id] = nil
            s.ended.insert(id)
        }
    }

    /// Joins threads whose sessions ended (they are exiting or gone; the join is immediate).
    func reap() {
        let done: [OSThread] = state.withLock { s in
            var out: [OSThread] = []
            for id in s.ended {
                if let t = s.threads.removeValue(forKey: id) {
                    out.append(t)
                    s.ended.remove(id)
                }
            }
            return out
        }
        for t in done { t.join() }
    }

    func beginStop() {
        state.withLock { s in
            s.stopping = true
            for (fd, _) in s.sessions.values { Socket.shutdown(fd) }
        }
    }

    /// Waits for every session thread (each sees its control socket shut down and ends within a poll turn).
    func joinAll() {
        let all: [OSThread] = state.withLock { s in
            let t = Array(s.threads.values)
            s.threads.removeAll()
            return t
        }
        for t in all { t.join() }
    }
}
