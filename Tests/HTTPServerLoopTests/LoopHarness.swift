//===----------------------------------------------------------------------===//
// ImageGate: one real event loop serving socket-pair connections, for tests of the connection and writer.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
@testable import HTTPServer
import SystemIO
import TestSupport
import Synchronization

/// An `EventLoop` built as `HTTPListener.start` builds one, on its own thread, except that connections
/// arrive as socket-pair ends through its mailbox instead of from `accept`: the test owns the client end and
/// sets the server end's send buffer, so short writes and EAGAIN happen for real (epoll, send, sendfile), with
/// no hook in the server. This is the only file that knows the loop's internal types.
final class LoopHarness {
    /// One JSON line per request (the access log), and the server's own diagnostics.
    let accessLog: LinePipe
    let diagnostics: LinePipe
    private let ctx: LoopContext
    private let thread: OSThread
    private var stopped = false
    private var nextPort: UInt16 = 40000
    /// The server end of the last `connect`, for a syscall fault scoped to it (`SyscallFault.Scope.descriptor`).
    private(set) var lastServerFD: Int32 = -1

    init(handler: any RequestHandler, config: HTTPServerConfig = HTTPServerConfig()) throws {
        ClientSocket.ignoreBrokenPipes()
        accessLog = try LinePipe()
        diagnostics = try LinePipe()
        // The loop also watches a listening socket; this one is never connected to.
        let listener = try Socket.listen(ListenAddress(host: "127.0.0.1", port: 0))
        let mailbox = LoopMailbox(index: 0, wake: try EventFD())
        ctx = LoopContext(
            listener: listener, handler: handler, config: config,
            limiter: ConnectionLimiter(maxTotal: config.maxConnections, maxPerPeer: config.maxConnectionsPerPeer),
            accessLog: AccessLog(sink: accessLog.sink, scheme: "http", redact: { handler.loggablePath($0) }),
            logger: Logger(sink: diagnostics.sink, minimum: .warning), tls: nil, mailboxes: [mailbox])
        let loopCtx = ctx
        thread = OSThread.spawn(name: "test-loop") {
            do {
                try EventLoop(ctx: loopCtx, index: 0).run()
            } catch {
                loopCtx.logger.error("test loop failed to start: \(error)")
            }
        }
    }

    /// A new connection: the client end for the test, the server end handed to the loop (which closes it).
    /// `serverSendBuffer` is the server end's SO_SNDBUF.
    func connect(serverSendBuffer: Int32? = nil) throws -> ClientSocket {
        let (client, serverFD) = try ClientSocket.pair(serverSendBuffer: serverSendBuffer)
        nextPort += 1
        let peer = PeerAddress(host: "192.0.2.7", port: nextPort, bytes: [192, 0, 2, 7])
        guard ctx.limiter.acquire(peer.bytes) else {
            close(serverFD)
            throw TestFailure("connection limit reached")
        }
        ctx.mailboxes[0].open.add(1, ordering: .relaxed)
        lastServerFD = serverFD
        ctx.mailboxes[0].hand(serverFD, peer)
        return client
    }

    /// Stops the loop (open connections are cut) and waits for its thread.
    func stop() {
        guard !stopped else { return }
        stopped = true
        ctx.mailboxes[0].requestStop()
        thread.join()
        for (fd, peer) in ctx.mailboxes[0].takeAll() { EventLoop.discard(fd, peer, ctx: ctx, box: ctx.mailboxes[0]) }
        ctx.mailboxes[0].wake.close()
        close(ctx.listener)
    }

    deinit { stop() }
}

/// A handler made of one closure, for tests that only need the server around it.
struct ScriptedHandler: RequestHandler {
    let answer: @Sendable (Request) -> Response

    func respond(to request: Request) -> Response { answer(request) }
    func loggablePath(_ path: String) -> String { path }
}
