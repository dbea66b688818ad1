//===----------------------------------------------------------------------===//
// ImageGate: errno captured at the failing call, named after the call.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, the errno it left (the cause callers keep) and, for calls on a path,
/// the path. Captured immediately after the call so no intervening code can change errno (NIO
/// `System.swift` does the same).
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public let call: String
    public let errno: Int32
    public let path: String?

    public init(_ call: String, errno: Int32, path: String? = nil) {
        self.call = call
        self.errno = errno
        self.path = path
    }

    /// `strerror` text of the errno ("No space left on device").
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String { path.map { "\(call) \($0): \(reason)" } ?? "\(call): \(reason)" }
}

/// Outcome of a non-blocking call: done (with a value) or would block.
public enum IOResult<T: Sendable>: Sendable {
    case processed(T)
    case wouldBlock
}

public enum Sys {
    /// Retries on EINTR, maps EAGAIN/EWOULDBLOCK to `.wouldBlock`, throws anything else.
    @inline(__always)
    static func nonBlocking<T: BinaryInteger & Sendable>(_ call: String, _ body: () -> T) throws(SystemError)
        -> IOResult<T>
    {
        while true {
            let r = body()
            if r >= 0 { return .processed(r) }
            let e = Glibc.errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
            throw SystemError(call, errno: e)
        }
    }

    /// Retries on EINTR, throws anything else (naming `path` when there is one).
    @inline(__always)
    static func blocking<T: BinaryInteger>(_ call: String, path: String? = nil, _ body: () -> T) throws(SystemError)
        -> T
    {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw SystemError(call, errno: e, path: path)
        }
    }

    /// Closes a descriptor exactly once. On Linux the descriptor is gone even when close reports EINTR,
    /// so EINTR must not be retried (a retry could close a descriptor another thread just got).
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
