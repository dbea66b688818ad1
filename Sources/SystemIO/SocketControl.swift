//===----------------------------------------------------------------------===//
// ImageGate: the calls the thread-per-connection fronts (SFTP, FTP, the metrics listener) and the blocking
// waits make on sockets and event descriptors: poll, blocking mode, timeouts, shutdown.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// `poll(2)` for threads that wait on a few descriptors with a deadline.
public enum Poll {
    /// Waits up to `timeoutMs` (-1 forever) for the events in `fds` and fills their `revents`. Returns how many
    /// are ready: 0 on a timeout and on an interrupted wait (EINTR), because every caller waits in a loop
    /// with its own deadline and simply waits again. Other failures (EFAULT, EINVAL, ENOMEM) throw.
    public static func wait(_ fds: inout [pollfd], timeoutMs: Int32) throws(SystemError) -> Int {
        let n = Glibc.poll(&fds, nfds_t(fds.count), timeoutMs)
        if n >= 0 { return Int(n) }
        let e = errno
        if e == EINTR { return 0 }
        throw SystemError("poll", errno: e)
    }

    /// `wait` on one descriptor: its `revents`, 0 on a timeout, an interrupted wait or a failure.
    public static func wait(_ fd: Int32, for events: Int16, timeoutMs: Int32) -> Int16 {
        var fds = [pollfd(fd: fd, events: events, revents: 0)]
        guard let n = try? wait(&fds, timeoutMs: timeoutMs), n > 0 else { return 0 }
        return fds[0].revents
    }

    public static let readable = Int16(POLLIN)
}

extension Socket {
    /// Clears or sets O_NONBLOCK (`fcntl`). The descriptor is the program's own, so F_GETFL cannot fail.
    public static func setBlocking(_ fd: Int32, _ blocking: Bool) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK)
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO: a blocking read or write gives up (EAGAIN) after `seconds`.
    public static func setTimeouts(_ fd: Int32, seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        let size = socklen_t(MemoryLayout<timeval>.size)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, size)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, size)
    }

    /// `shutdown(SHUT_RDWR)`: wakes a thread blocked on the socket, which then sees the end of the stream.
    /// The descriptor stays open (its owner closes it).
    public static func shutdown(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }
}

extension EventFD {
    /// Waits up to `timeoutMs` for a `signal`; true when one came (it is not drained).
    @discardableResult
    public func wait(timeoutMs: Int32) -> Bool {
        Poll.wait(fd, for: Poll.readable, timeoutMs: timeoutMs) != 0
    }
}
