//===----------------------------------------------------------------------===//
// ImageGate: the socket calls of the thread-per-connection fronts: Poll, blocking mode, timeouts, shutdown.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import SystemIO
import Testing

@Suite struct SocketControlTests {
    /// A connected pair of stream sockets (both ends blocking).
    static func pair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        return (fds[0], fds[1])
    }

    @Test("Poll.wait reports a readable socket, and nothing ready before a byte arrives")
    func pollReadable() throws {
        let (a, b) = try Self.pair()
        defer {
            Sys.close(a)
            Sys.close(b)
        }
        #expect(Poll.wait(a, for: Poll.readable, timeoutMs: 0) == 0)
        var fds = [pollfd(fd: a, events: Poll.readable, revents: 0)]
        #expect(try Poll.wait(&fds, timeoutMs: 0) == 0)
        try FileIO.writeAll(b, [1])
        #expect(Poll.wait(a, for: Poll.readable, timeoutMs: 1000) & Poll.readable != 0)
        #expect(try Poll.wait(&fds, timeoutMs: 1000) == 1)
        #expect(fds[0].revents & Poll.readable != 0)
    }

    @Test("setBlocking switches O_NONBLOCK; a non-blocking read with nothing to read would block")
    func blockingMode() throws {
        let (a, b) = try Self.pair()
        defer {
            Sys.close(a)
            Sys.close(b)
        }
        Socket.setBlocking(a, false)
        #expect(fcntl(a, F_GETFL) & O_NONBLOCK != 0)
        var byte: [UInt8] = [0]
        let r = try byte.withUnsafeMutableBytes { try Socket.read(a, into: $0) }
        guard case .wouldBlock = r else {
            Issue.record("expected wouldBlock, got \(r)")
            return
        }
        Socket.setBlocking(a, true)
        #expect(fcntl(a, F_GETFL) & O_NONBLOCK == 0)
    }

    @Test("setTimeouts makes a blocking read give up; shutdown makes the peer see the end of the stream")
    func timeoutsAndShutdown() throws {
        let (a, b) = try Self.pair()
        defer {
            Sys.close(a)
            Sys.close(b)
        }
        Socket.setTimeouts(a, seconds: 1)
        var tv = timeval()
        var size = socklen_t(MemoryLayout<timeval>.size)
        #expect(getsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, &size) == 0 && tv.tv_sec == 1)
        #expect(getsockopt(a, SOL_SOCKET, SO_SNDTIMEO, &tv, &size) == 0 && tv.tv_sec == 1)
        Socket.shutdown(b)
        var byte: [UInt8] = [0]
        #expect(try FileIO.read(a, into: &byte) == 0)  // end of stream at once, not a 1 s timeout
    }
}
