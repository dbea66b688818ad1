//===----------------------------------------------------------------------===//
// ImageGate: a listening socket served by N event-loop threads.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import SystemIO
import TLSSupport

/// One HTTP listener. All loops share the listening socket (EPOLLEXCLUSIVE wakes one of them per
/// connection); each loop then owns the connections it accepted until they close.
public final class HTTPListener: Sendable {
    public let address: ListenAddress
    /// The bound port (differs from `address.port` when that was 0).
    public let port: UInt16
    private let listener: Int32
    private let wakes: [EventFD]
    private let threads: [OSThread]
    private let limiter: ConnectionLimiter

    /// Binds and starts serving. Throws if the address cannot be bound.
    public static func start(
        address: ListenAddress, config: HTTPServerConfig, handler: any RequestHandler, accessLog: LineSink?,
        logger: Logger, tls: TLSContextHolder? = nil
    ) throws(SystemError) -> HTTPListener {
        let fd = try Socket.listen(address)
        let loops = config.loops > 0 ? config.loops : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let limiter = ConnectionLimiter(maxTotal: config.maxConnections, maxPerPeer: config.maxConnectionsPerPeer)
        let ctx = LoopContext(
            listener: fd, handler: handler, config: config, limiter: limiter,
            accessLog: AccessLog(
                sink: accessLog, scheme: tls != nil ? "https" : "http", redact: { handler.loggablePath($0) }),
            logger: logger, tls: tls)
        var wakes: [EventFD] = []
        var threads: [OSThread] = []
        for i in 0..<loops {
            let wake = try EventFD()
            // Build the loop on its own thread: it is confined there for life.
            let loopCtx = ctx
            threads.append(
                OSThread.spawn(name: "\(tls != nil ? "https" : "http")-loop-\(i)") {
                    do {
                        let loop = try EventLoop(ctx: loopCtx, wake: wake)
                        loop.run()
                    } catch {
                        logger.error("event loop \(i) failed to start: \(error)")
                    }
                })
            wakes.append(wake)
        }
        return HTTPListener(
            address: address, port: Socket.localPort(fd), listener: fd, wakes: wakes, threads: threads,
            limiter: limiter)
    }

    private init(
        address: ListenAddress, port: UInt16, listener: Int32, wakes: [EventFD], threads: [OSThread],
        limiter: ConnectionLimiter
    ) {
        self.address = address
        self.port = port
        self.listener = listener
        self.wakes = wakes
        self.threads = threads
        self.limiter = limiter
    }

    public var openConnections: Int { limiter.current }

    /// Stops accepting, cuts every connection (in-flight responses end short; clients resume with a
    /// range request), and waits for the loops to exit.
    public func stop() {
        for w in wakes { w.signal() }
        for t in threads { t.join() }
        for w in wakes { w.close() }
        Sys.close(listener)
    }
}
