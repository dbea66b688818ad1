//===----------------------------------------------------------------------===//
// ImageGate: the SSH listener: accept, one thread per session, a watchdog for deadlines, clean stop.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLibSSH
import GateCore
import Synchronization
import SystemIO

/// Everything session threads share. Immutable apart from the thread-safe registry and throttle.
final class ListenerContext: Sendable {
    let config: SFTPConfig
    let policy: any SFTPAccessPolicy
    let accessLog: SFTPAccessLog
    let logger: Logger
    let registry = SessionRegistry()
    let throttle: LoginThrottle
    let gate: ConnectionGate

    init(config: SFTPConfig, policy: any SFTPAccessPolicy, accessLog: LineSink?, logger: Logger) {
        self.config = config
        self.policy = policy
        self.accessLog = SFTPAccessLog(sink: accessLog)
        self.logger = logger
        throttle = LoginThrottle(limit: config.maxAuthFailuresPerMinute, window: .fixed, lengthMs: 60_000)
        gate = ConnectionGate(
            ConnectionGate.Limits(
                maxSessions: config.maxSessions, maxSessionsPerAddress: config.maxSessionsPerAddress,
                maxUnauthenticated: config.maxUnauthenticated,
                maxUnauthenticatedPerAddress: config.maxUnauthenticatedPerAddress,
                connectionsPerSecond: config.connectionsPerSecondPerAddress))
    }
}

/// Moves a libssh handle to the one thread that will own it. Safe because the sender never touches it again.
private final class Handoff: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ p: OpaquePointer) { pointer = p }
}

/// The SFTP front: an SSH server offering only the `sftp` subsystem over libssh 0.10 (Docs/sftp.md).
public final class SFTPListener: Sendable {
    public let address: ListenAddress
    /// The bound port (differs from `address.port` when that was 0).
    public let port: UInt16
    public let hostKeys: [SSHHostKey]
    private let ctx: ListenerContext
    private let listenFD: Int32
    private let bind: Handoff
    private let acceptThread: OSThread
    private let stopping: StopFlag

    /// `<kind> SHA256:…` for each host key, as printed at start-up.
    public var hostKeyFingerprints: [String] { hostKeys.map { "\($0.kind) \($0.fingerprint)" } }
    public var openSessions: Int { ctx.registry.count }

    /// Loads (or makes) the host keys, binds and starts accepting.
    public static func start(
        address: ListenAddress, hostKeyDirectory: String, config: SFTPConfig, policy: any SFTPAccessPolicy,
        accessLog: LineSink?, logger: Logger
    ) throws(GateError) -> SFTPListener {
        let keys = try SSHHostKeys.loadOrCreate(directory: hostKeyDirectory)
        guard let bind = ssh_bind_new() else { throw GateError.internal("ssh_bind_new failed") }
        var noConfig = false
        // Do not read /etc/ssh/libssh_server_config: the policy is ours (Docs/sftp-notes.md §2, bind gotchas).
        var ok = ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &noConfig) == SSH_OK
        for key in keys { ok = ok && ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HOSTKEY, key.path) == SSH_OK }
        // Explicit lists (Docs/sftp.md "Transport"); libssh adds the strict-kex marker (Terrapin) itself.
        let set = config.algorithms
        let lists: [(ssh_bind_options_e, String)] = [
            (SSH_BIND_OPTIONS_KEY_EXCHANGE, set.kex), (SSH_BIND_OPTIONS_CIPHERS_C_S, set.ciphers),
            (SSH_BIND_OPTIONS_CIPHERS_S_C, set.ciphers), (SSH_BIND_OPTIONS_HMAC_C_S, set.macs),
            (SSH_BIND_OPTIONS_HMAC_S_C, set.macs),
            (SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, SSHAlgorithmSet.hostKeyAlgorithms),
        ]
        for (option, value) in lists { ok = ok && ssh_bind_options_set(bind, option, value) == SSH_OK }
        guard ok else {
            let why = String(cString: ssh_get_error(UnsafeMutableRawPointer(bind)))
            ssh_bind_free(bind)
            throw GateError.internal("SSH server options: \(why)")
        }
        // Our own socket (backlog, IPv6, port 0) handed to libssh per connection with ssh_bind_accept_fd.
        let fd: Int32
        do {
            fd = try Socket.listen(address)
        } catch {
            ssh_bind_free(bind)
            throw GateError.io("cannot listen on \(address): \(error)")
        }
        let ctx = ListenerContext(config: config, policy: policy, accessLog: accessLog, logger: logger)
        let stopping = StopFlag()
        let handoff = Handoff(bind)
        let thread = OSThread.spawn(name: "sftp-accept") {
            acceptLoop(fd: fd, bind: handoff, ctx: ctx, stopping: stopping)
        }
        return SFTPListener(
            address: address, port: Socket.localPort(fd), hostKeys: keys, ctx: ctx, listenFD: fd, bind: handoff,
            acceptThread: thread, stopping: stopping)
    }

    private init(
        address: ListenAddress, port: UInt16, hostKeys: [SSHHostKey], ctx: ListenerContext, listenFD: Int32,
        bind: Handoff, acceptThread: OSThread, stopping: StopFlag
    ) {
        self.address = address
        self.port = port
        self.hostKeys = hostKeys
        self.ctx = ctx
        self.listenFD = listenFD
        self.bind = bind
        self.acceptThread = acceptThread
        self.stopping = stopping
    }

    /// Stops accepting, cuts every session (clients resume with `reget`), joins every thread. Bounded by the
    /// longest pause a failed login sleeps (3 s) plus the time a session needs to notice its socket is gone.
    public func stop() {
        guard !stopping.flag.exchange(true, ordering: .acquiringAndReleasing) else { return }
        acceptThread.join()
        let deadline = Monotonic.milliseconds() + 10_000
        while true {
            for s in ctx.registry.all() { s.cut(.serverStop) }
            ctx.registry.reap()
            if ctx.registry.count == 0 || Monotonic.milliseconds() > deadline { break }
            usleep(20_000)
        }
        ctx.registry.reap()
        Sys.close(listenFD)
        ssh_bind_free(bind.pointer)
    }
}

final class StopFlag: Sendable {
    let flag = Atomic(false)
}

/// The listener thread: accepts, enforces the per-address rate and the pre-auth caps (`ConnectionGate`), hands
/// each connection to a new session thread, and every 250 ms cuts sessions past their deadline and joins the threads of finished ones.
private func acceptLoop(fd: Int32, bind: Handoff, ctx: ListenerContext, stopping: StopFlag) {
    while !stopping.flag.load(ordering: .acquiring) {
        let ready = Poll.wait(fd, for: Poll.readable, timeoutMs: 250)
        let now = Monotonic.milliseconds()
        for s in ctx.registry.all() { s.checkDeadline(now: now) }
        ctx.registry.reap()
        guard ready != 0 else { continue }
        while true {
            guard case .processed(let (conn, peer))? = try? Socket.accept(fd) else { break }
            // Before a single byte is sent: a refused connection costs no banner and no key exchange.
            if let refusal = ctx.gate.admit(peer.host) {
                ctx.logger.debug("sftp \(peer): refused at accept (\(refusal.rawValue))")
                ctx.accessLog.write(
                    peer: peer, user: "-", path: "-", bytes: 0, durationMs: 0, outcome: refusal.outcome)
                Sys.close(conn)
                continue
            }
            // libssh's own accept yields a blocking socket; keep to what was measured (Docs/sftp-notes.md §3).
            Socket.setBlocking(conn, true)
            Socket.setNoDelay(conn)
            guard let session = ssh_new() else {
                ctx.gate.release(peer.host, promoted: false)
                Sys.close(conn)
                continue
            }
            // Compression is a session option (the bind has none), set before the accept copies the bind's
            // lists: only `none` unless sftp.compression (`zlib@openssh.com` is delayed until after login).
            let compression = ctx.config.compression ? "none,zlib@openssh.com" : "none"
            ssh_options_set(session, SSH_OPTIONS_COMPRESSION_C_S, compression)
            ssh_options_set(session, SSH_OPTIONS_COMPRESSION_S_C, compression)
            guard ssh_bind_accept_fd(bind.pointer, session, conn) == SSH_OK else {
                let why = String(cString: ssh_get_error(UnsafeMutableRawPointer(bind.pointer)))
                ctx.logger.warning("sftp \(peer): \(why)")
                ctx.gate.release(peer.host, promoted: false)
                ssh_free(session)
                continue
            }
            // Bounds libssh's own waits (key exchange, a closed window in ssh_channel_write); the watchdog
            // deadlines above are the real limits.
            var timeout = 10
            ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout)
            let control = ctx.registry.add(fd: conn, peer: peer)
            let handoff = Handoff(session)
            let thread = OSThread.spawn(name: "sftp-session") {
                SSHSession(ctx: ctx, control: control, session: handoff.pointer).run()
                ctx.registry.finish(control.id)
            }
            ctx.registry.attach(thread, to: control.id)
        }
    }
}
