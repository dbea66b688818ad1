//===----------------------------------------------------------------------===//
// ImageGate test support: the client end of a connection, scripted byte by byte by the test.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// A connected stream socket the test reads and writes itself: one end of a `socketpair(AF_UNIX,
/// SOCK_STREAM)` whose other end a server serves, or a TCP connection to a loopback listener. Every wait is
/// bounded by `testPatienceMs`; bytes read past a response stay buffered for the next one (pipelining).
public final class ClientSocket {
    public let fd: Int32
    /// Received but not yet returned.
    private var pending: [UInt8] = []
    private var sawEnd = false

    init(fd: Int32) {
        self.fd = fd
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    /// A connected AF_UNIX stream pair: the client end, and the server end (non-blocking, close-on-exec) for
    /// the server to own and close. `serverSendBuffer` sets SO_SNDBUF on the server end (the kernel doubles it
    /// and keeps at least 4608 bytes), so a response larger than that must wait for the client to read:
    /// partial writes and EAGAIN happen for real, no hook in the server needed.
    public static func pair(serverSendBuffer: Int32? = nil) throws -> (client: ClientSocket, serverFD: Int32) {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
            throw TestFailure("socketpair: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        if let size = serverSendBuffer {
            var v = size
            guard setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw TestFailure("SO_SNDBUF: \(String(cString: strerror(errno)))")
            }
        }
        return (ClientSocket(fd: fds[0]), fds[1])
    }

    /// A TCP connection to 127.0.0.1:`port` (a listener started in this process on port 0).
    public static func connect(port: UInt16) throws -> ClientSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw TestFailure("connect to 127.0.0.1:\(port): \(String(cString: strerror(e)))")
        }
        return ClientSocket(fd: fd)
    }

    /// Ignores SIGPIPE for the whole test process, as `imagegate serve` does (Serve/Signals.swift): a server
    /// in the process that writes to a connection its client closed gets EPIPE (sendfile has no MSG_NOSIGNAL)
    /// instead of killing the test run.
    public static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    // MARK: writing

    /// Writes every byte (waiting, bounded, while the socket is full).
    public func send(_ bytes: [UInt8]) throws {
        var off = 0
        let deadline = monotonicMs() + testPatienceMs
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                off += n
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EINTR) {
                guard try wait(POLLOUT, until: deadline) else { throw TestFailure("send: the server reads nothing") }
                continue
            }
            throw TestFailure("send: \(String(cString: strerror(errno)))")
        }
    }

    public func send(_ request: RawRequest) throws { try send(request.bytes) }

    /// Ends the client's output (the server sees end of input).
    public func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }

    // MARK: reading

    /// Bytes the kernel holds for this socket that nobody read yet (FIONREAD).
    public var queuedInbound: Int {
        var n: Int32 = 0
        _ = ioctl(fd, UInt(FIONREAD), &n)
        return Int(n)
    }

    /// Waits (bounded) until at least one byte can be read or the peer closed; false on timeout.
    public func waitReadable(timeoutMs: Int64 = testPatienceMs) throws -> Bool {
        if !pending.isEmpty || sawEnd { return true }
        return try wait(POLLIN, until: monotonicMs() + timeoutMs)
    }

    /// Reads one complete response (head, then the body its `Content-Length` frames; none for HEAD, 1xx, 204,
    /// 304). Bytes after it stay buffered.
    public func readResponse(isHead: Bool = false) throws -> HTTPResponse {
        let deadline = monotonicMs() + testPatienceMs
        while true {
            if let (head, headLength) = try HTTPResponse.parseHead(pending[...]) {
                var response = head
                let bodyless = isHead || response.status / 100 == 1 || response.status == 204 || response.status == 304
                let length = bodyless ? 0 : Int(response.header("Content-Length") ?? "0") ?? -1
                guard length >= 0 else { throw TestFailure("bad Content-Length in \(response.headers)") }
                if pending.count >= headLength + length {
                    response.body = Array(pending[headLength..<(headLength + length)])
                    pending.removeFirst(headLength + length)
                    return response
                }
            }
            guard try fill(until: deadline) else {
                throw TestFailure("connection ended after \(pending.count) bytes, before a complete response")
            }
        }
    }

    /// Sends `request` and reads its response.
    public func exchange(_ request: RawRequest) throws -> HTTPResponse {
        try send(request)
        return try readResponse(isHead: request.method == "HEAD")
    }

    /// Everything until the peer closes (bounded): what is buffered plus what arrives.
    public func readToEnd() throws -> [UInt8] {
        let deadline = monotonicMs() + testPatienceMs
        while try fill(until: deadline) {}
        defer { pending.removeAll() }
        return pending
    }

    /// Takes up to `max` bytes that have already arrived, without waiting.
    public func readAvailable(max: Int) throws -> [UInt8] {
        if pending.count < max && !sawEnd { _ = try readOnce(limit: max - pending.count) }
        let n = min(max, pending.count)
        defer { pending.removeFirst(n) }
        return Array(pending[0..<n])
    }

    /// True once the peer closed and every byte was taken.
    public var ended: Bool { sawEnd && pending.isEmpty }

    /// Reads more into `pending`, waiting (bounded) for it; false at end of input.
    private func fill(until deadline: Int64) throws -> Bool {
        while true {
            if sawEnd { return false }
            if try readOnce(limit: 256 * 1024) > 0 { return true }
            if sawEnd { return false }
            guard try wait(POLLIN, until: deadline) else { throw TestFailure("timed out waiting for the server") }
        }
    }

    /// One non-blocking read: bytes read (0 when none are there yet or at end of input).
    private func readOnce(limit: Int) throws -> Int {
        var buf = [UInt8](repeating: 0, count: limit)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            pending.append(contentsOf: buf[0..<n])
            return n
        }
        if n == 0 {
            sawEnd = true
            return 0
        }
        if errno == EAGAIN || errno == EINTR { return 0 }
        // A reset after the server closed with unread input is an end like any other for these tests.
        if errno == ECONNRESET {
            sawEnd = true
            return 0
        }
        throw TestFailure("recv: \(String(cString: strerror(errno)))")
    }

    private func wait(_ events: Int32, until deadline: Int64) throws -> Bool {
        while true {
            let left = deadline - monotonicMs()
            if left <= 0 { return false }
            var p = pollfd(fd: fd, events: Int16(events), revents: 0)
            let rc = poll(&p, 1, Int32(min(left, 1000)))
            if rc > 0 { return true }
            if rc < 0 && errno != EINTR { throw TestFailure("poll: \(String(cString: strerror(errno)))") }
        }
    }
}
