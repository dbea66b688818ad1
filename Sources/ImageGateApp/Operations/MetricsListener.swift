//===----------------------------------------------------------------------===//
// ImageGate: the operations listener (metrics.listen): GET /metrics, /healthz, /readyz, one request per
// connection, on its own thread so scrapes never touch the transfer fronts' event loops.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import Synchronization
import SystemIO

final class MetricsListener: Sendable {
    let port: UInt16
    private let fd: Int32
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<OSThread?>(nil)
    /// A client gets this long to send its request head and take the answer.
    static let clientTimeoutSeconds = 5

    private init(fd: Int32) {
        self.fd = fd
        self.port = Socket.localPort(fd)
    }

    /// Binds `address` and serves `answer(path)` (status, content type, body) until `stop()`.
    static func start(
        address: ListenAddress, logger: Logger,
        answer: @escaping @Sendable (String) -> (status: Int, contentType: String, body: String)
    ) throws(SystemError) -> MetricsListener {
        let l = MetricsListener(fd: try Socket.listen(address, backlog: 64))
        let t = OSThread.spawn(name: "metrics") { [l] in l.serve(logger: logger, answer: answer) }
        l.thread.withLock { $0 = t }
        return l
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        thread.withLock { $0 }?.join()
        Sys.close(fd)
    }

    private func serve(logger: Logger, answer: @Sendable (String) -> (status: Int, contentType: String, body: String)) {
        while !stopping.load(ordering: .acquiring) {
            guard Poll.wait(fd, for: Poll.readable, timeoutMs: 250) != 0 else { continue }
            guard case .processed(let (client, _))? = try? Socket.accept(fd) else { continue }
            Self.handle(client, answer: answer)
            Sys.close(client)
        }
    }

    private static func handle(
        _ client: Int32, answer: @Sendable (String) -> (status: Int, contentType: String, body: String)
    ) {
        // Blocking with timeouts: one short request at a time is all this listener serves.
        Socket.setBlocking(client, true)
        Socket.setTimeouts(client, seconds: clientTimeoutSeconds)
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while head.count < 8192, !head.ends(with: [13, 10, 13, 10]) && !head.ends(with: [10, 10]) {
            // A receive timeout (SO_RCVTIMEO) comes back as .wouldBlock: the client is dropped.
            guard case .processed(let n)? = chunk.withUnsafeMutableBytes({ try? Socket.read(client, into: $0) }), n > 0
            else { return }
            head += chunk[..<n]
        }
        let line = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let (status, type, body): (Int, String, String)
        if parts.count != 3 || !parts[2].hasPrefix("HTTP/1.") {
            (status, type, body) = (400, "text/plain", "bad request\n")
        } else if parts[0] != "GET" && parts[0] != "HEAD" {
            (status, type, body) = (405, "text/plain", "method not allowed\n")
        } else {
            let path = String(parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
            (status, type, body) = answer(path)
        }
        let header =
            "HTTP/1.1 \(status) \(reason(status))\r\nContent-Type: \(type)\r\n"
            + "Content-Length: \(body.utf8.count)\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        // One buffer, one copy of the body: a scrape's answer is kilobytes.
        var answer: [UInt8] = []
        answer.reserveCapacity(header.utf8.count + body.utf8.count)
        answer += header.utf8
        if parts.first != "HEAD" { answer += body.utf8 }
        var bytes = answer[...]
        while !bytes.isEmpty {
            guard case .processed(let n)? = bytes.withUnsafeBytes({ try? Socket.send(client, $0, more: false) }), n > 0
            else { return }
            bytes = bytes.dropFirst(n)
        }
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 503: "Service Unavailable"
        default: "Error"
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
