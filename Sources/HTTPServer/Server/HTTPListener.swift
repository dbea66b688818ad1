//===----------------------------------------------------------------------===//
// ImageGate: a listening socket served by N event-loop threads.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import Synchronization
import SystemIO
import TLSSupport

/// One HTTP listener. All loops share the listening socket (EPOLLEXCLUSIVE wakes one of them per
/// connection); the loop that accepts gives each connection to the loop owning the fewest (`LoopMailbox`),
/// which then owns it until it closes.
public final class HTTPListener: Sendable {
    public let address: ListenAddress
    /// The bound port (differs from `address.port` when that was 0).
    public let port: UInt16
    private let listener: Int32
    private let mailboxes: [LoopMailbox]
    private let threads: [OSThread]
    private let limiter: ConnectionLimiter
    private let logger: Logger
    private let name: String

    /// Binds and starts serving. Throws if the address cannot be bound.
    public static func start(
        address: ListenAddress, config: HTTPServerConfig, handler: any RequestHandler, accessLog: LineSink?,
        logger: Logger, tls: TLSContextHolder? = nil
    ) throws(SystemError) -> HTTPListener {
        let fd = try Socket.listen(address)
        let loops = config.loops > 0 ? config.loops : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let limiter = ConnectionLimiter(maxTotal: config.maxConnections, maxPerPeer: config.maxConnectionsPerPeer)
        var mailboxes: [LoopMailbox] = []
        for i in 0..<loops {
            do {
                mailboxes.append(LoopMailbox(index: i, wake: try EventFD()))
            } catch {
                for m in mailboxes { m.wake.close() }
                Sys.close(fd)
                throw error
            }
        }
        let ctx = LoopContext(
            listener: fd, handler: handler, config: config, limiter: limiter,
            accessLog: AccessLog(
                sink: accessLog, scheme: tls != nil ? "https" : "http", redact: { handler.loggablePath($0) }),
            logger: logger, tls: tls, mailboxes: mailboxes)
        let name = tls != nil ? "https" : "http"
        var threads: [OSThread] = []
        for i in 0..<loops {
            // Build the loop on its own thread: it is confined there for life.
            let loopCtx = ctx
            threads.append(
                OSThread.spawn(name: "\(name)-loop-\(i)") {
                    do {
                        let loop = try EventLoop(ctx: loopCtx, index: i)
                        loop.run()
                    } catch {
                        logger.error("event loop \(i) failed to start: \(error)")
                    }
                })
        }
        return HTTPListener(
            address: address, port: Socket.localPort(fd), listener: fd, mailboxes: mailboxes, threads: threads,
            limiter: limiter, logger: logger, name: name, ctx: ctx)
    }

    private let ctx: LoopContext

    private init(
        address: ListenAddress, port: UInt16, listener: Int32, mailboxes: [LoopMailbox], threads: [OSThread],
        limiter: ConnectionLimiter, logger: Logger, name: String, ctx: LoopContext
    ) {
        self.address = address
        self.port = port
        self.listener = listener
        self.mailboxes = mailboxes
        self.threads = threads
        self.limiter = limiter
        self.logger = logger
        self.name = name
        self.ctx = ctx
    }

    public var openConnections: Int { limiter.current }

    /// Connections each loop has owned since start, in loop order (how evenly the work was spread).
    public var connectionsPerLoop: [Int] { mailboxes.map { $0.owned.load(ordering: .relaxed) } }

    /// Stops accepting, cuts every connection (in-flight responses end short; clients resume with a
    /// range request), and waits for the loops to exit.
    public func stop() {
        for m in mailboxes { m.requestStop() }
        for t in threads { t.join() }
        // A connection handed to a loop that had already exited: never served, closed here.
        for m in mailboxes {
            for (fd, peer) in m.takeAll() { EventLoop.discard(fd, peer, ctx: ctx, box: m) }
            m.wake.close()
        }
        Sys.close(listener)
        logger.info("\(name): connections per loop: \(connectionsPerLoop.map(String.init).joined(separator: " "))")
    }
}
