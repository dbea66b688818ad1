//===----------------------------------------------------------------------===//
// ImageGate: one TLS connection over a socket, for non-blocking (event loop) and blocking use.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import GateCore

/// What a TLS call needs next.
public enum TLSStatus: Equatable, Sendable {
    case ok
    /// The socket must become readable (non-blocking use), then call again.
    case wantRead
    /// The socket must become writable, then call again.
    case wantWrite
    /// The peer sent close_notify.
    case closed
    /// The connection is unusable (protocol error, reset, handshake failure).
    case failed(String)
}

/// An `SSL*` bound to one socket. Confined to the thread that owns the connection.
public final class TLSSession {
    private let ssl: OpaquePointer
    /// Keeps the context alive as long as the session (a reload may drop the listener's reference).
    public let context: TLSContext

    public init(context: TLSContext, fd: Int32) throws(GateError) {
        guard let ssl = SSL_new(context.ctx) else { throw OpenSSLError.gate("SSL_new") }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            throw OpenSSLError.gate("SSL_set_fd")
        }
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        self.context = context
    }

    deinit { SSL_free(ssl) }

    /// `SSL_get_error` reads this thread's OpenSSL error queue, so it must be empty before each I/O call, or a
    /// stale entry (left by any earlier OpenSSL use on the thread) turns a want-read into a failure. It nearly
    /// always is empty: looking costs about 200 instructions, `ERR_clear_error` about 840 (OpenSSL 3, callgrind),
    /// and an HTTPS 64 KiB range makes six of these calls (issue 17; Docs/benchmarks.md, hot path).
    @inline(__always) private func clearStaleErrors() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    private func status(_ rc: Int32) -> TLSStatus {
        let e = SSL_get_error(ssl, rc)
        switch e {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            let detail = OpenSSLError.drain()
            return .failed(detail.isEmpty ? "connection reset or closed" : detail)
        default:
            return .failed(OpenSSLError.drain())
        }
    }

    /// Drives the server handshake; `.ok` once it completed.
    public func handshake() -> TLSStatus {
        clearStaleErrors()
        let rc = SSL_do_handshake(ssl)
        return rc == 1 ? .ok : status(rc)
    }

    /// Reads decrypted bytes. `(n, .ok)` with n > 0, or a status saying what is needed.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> (Int, TLSStatus) {
        clearStaleErrors()
        var n = 0
        let rc = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &n)
        return rc == 1 ? (n, .ok) : (0, status(rc))
    }

    /// Writes (part of) `buffer`. With partial writes enabled a short count is normal.
    public func write(_ buffer: UnsafeRawBufferPointer) -> (Int, TLSStatus) {
        guard buffer.count > 0 else { return (0, .ok) }
        clearStaleErrors()
        var n = 0
        let rc = SSL_write_ex(ssl, buffer.baseAddress, buffer.count, &n)
        return rc == 1 ? (n, .ok) : (0, status(rc))
    }

    /// Kernel TLS for sending is active: `sendfile` can carry file bytes without copying them through us.
    public var kernelSendEnabled: Bool { COpenSSL_ktls_send_enabled(ssl) == 1 }

    /// OpenSSL holds received bytes (decrypted or not yet processed) that epoll cannot see; false means
    /// everything not yet read is still in the socket, so readiness will be reported for it.
    public var hasBufferedInput: Bool { SSL_has_pending(ssl) == 1 }

    /// Lets OpenSSL read more than one record per socket read (one `read` per record instead of a header
    /// read and a body read). Only for a caller that checks `hasBufferedInput` before waiting for readiness:
    /// bytes read ahead are invisible to epoll and poll.
    public func enableReadAhead() { SSL_set_read_ahead(ssl, 1) }

    /// `SSL_sendfile` (only when `kernelSendEnabled`).
    public func sendfile(fd: Int32, offset: Int64, count: Int) -> (Int, TLSStatus) {
        clearStaleErrors()
        let rc = SSL_sendfile(ssl, fd, off_t(offset), count, 0)
        return rc > 0 ? (Int(rc), .ok) : (0, status(Int32(truncatingIfNeeded: rc)))
    }

    /// Sends close_notify (best effort; the caller closes the socket).
    public func shutdown() {
        clearStaleErrors()
        _ = SSL_shutdown(ssl)
    }

    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// Whether this session resumed an earlier one (FTPS binds data connections to the control session so).
    public var sessionReused: Bool { SSL_session_reused(ssl) == 1 }
}

@available(*, unavailable)
extension TLSSession: Sendable {}
