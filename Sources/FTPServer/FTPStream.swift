//===----------------------------------------------------------------------===//
// ImageGate: one FTP socket, clear or TLS, non-blocking and driven by poll() with deadlines.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLinuxShims
import GateCore
import SystemIO
import TLSSupport

/// `poll` on a few descriptors until `deadlineMs` (monotonic); returns each one's revents, all 0 on timeout.
func pollFDs(_ fds: [(Int32, Int16)], deadlineMs: Int64) -> [Int16] {
    var p = fds.map { pollfd(fd: $0.0, events: $0.1, revents: 0) }
    while true {
        let wait = max(0, deadlineMs - Monotonic.milliseconds())
        // An interrupted wait counts as nothing ready: waited again while the deadline lasts.
        guard let n = try? Poll.wait(&p, timeoutMs: Int32(min(wait, 60_000))) else { return p.map { _ in 0 } }
        if n > 0 { return p.map(\.revents) }
        if Monotonic.milliseconds() < deadlineMs { continue }
        return p.map { _ in 0 }
    }
}

let pollIn = Int16(POLLIN)
let pollOut = Int16(POLLOUT)
let pollEnd = Int16(POLLERR | POLLHUP | POLLNVAL)

/// A connection's socket. Every call takes a deadline; nothing blocks past it. Confined to its session thread.
final class FTPStream {
    let fd: Int32
    private(set) var tls: TLSSession?
    private var closed = false

    init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// Reads what is there (at most `buffer.count`): > 0 bytes, 0 at end of stream, nil if nothing arrived
    /// before the deadline. A TLS record is at most 16 KiB, so a buffer that large drains one whole record
    /// and poll() stays truthful about pending input.
    func read(into buffer: UnsafeMutableRawBufferPointer, deadlineMs: Int64) throws(GateError) -> Int? {
        while true {
            if let tls {
                let (n, st) = tls.read(into: buffer)
                switch st {
                case .ok: return n
                case .closed: return 0
                case .wantRead: if !wait(pollIn, deadlineMs) { return nil }
                case .wantWrite: if !wait(pollOut, deadlineMs) { return nil }
                case .failed(let why): throw GateError.io("TLS read: \(why)")
                }
            } else {
                let r: IOResult<Int>
                do {
                    r = try Socket.read(fd, into: buffer)  // EINTR retried, EAGAIN is .wouldBlock
                } catch {
                    if error.errno == ECONNRESET { return 0 }
                    throw GateError.io("read: \(error.reason)")
                }
                if case .processed(let n) = r { return n }
                if !wait(pollIn, deadlineMs) { return nil }
            }
        }
    }

    /// Writes all of `bytes` or throws (peer gone, TLS failure, deadline passed).
    func writeAll(_ bytes: UnsafeRawBufferPointer, deadlineMs: Int64) throws(GateError) {
        var off = 0
        while off < bytes.count {
            let n = try writeSome(UnsafeRawBufferPointer(rebasing: bytes[off...]))
            if n > 0 {
                off += n
            } else if !wait(n == -2 ? pollIn : pollOut, deadlineMs) {
                throw GateError.io("write timed out")
            }
        }
    }

    func writeAll(_ bytes: [UInt8], deadlineMs: Int64) throws(GateError) {
        var failure: GateError?
        bytes.withUnsafeBytes { b in
            do throws(GateError) { try writeAll(b, deadlineMs: deadlineMs) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// One write attempt: bytes written, or 0 when the socket must become writable, -2 when readable (TLS).
    func writeSome(_ bytes: UnsafeRawBufferPointer) throws(GateError) -> Int {
        if let tls {
            let (n, st) = tls.write(bytes)
            switch st {
            case .ok: return n
            case .wantWrite: return 0
            case .wantRead: return -2
            case .closed: throw GateError.io("TLS peer closed")
            case .failed(let why): throw GateError.io("TLS write: \(why)")
            }
        }
        switch try? Socket.send(fd, bytes, more: false) {
        case .processed(let n)?: return n
        case .wouldBlock?: return 0
        case nil: throw GateError.io("send failed (peer gone)")
        }
    }

    /// Runs the server side of a TLS handshake on this socket (RFC 4217 §4 control, §9 data).
    func startTLS(_ context: TLSContext, deadlineMs: Int64) throws(GateError) {
        let session = try TLSSession(context: context, fd: fd)
        while true {
            switch session.handshake() {
            case .ok:
                tls = session
                return
            case .wantRead: if !wait(pollIn, deadlineMs) { throw GateError.io("TLS handshake timed out") }
            case .wantWrite: if !wait(pollOut, deadlineMs) { throw GateError.io("TLS handshake timed out") }
            case .closed: throw GateError.io("TLS handshake: peer closed")
            case .failed(let why): throw GateError.io("TLS handshake: \(why)")
            }
        }
    }

    /// Waits for `events`; false on timeout. Errors and hang-ups count as ready: the next call reports them.
    func wait(_ events: Int16, _ deadlineMs: Int64) -> Bool {
        let r = pollFDs([(fd, events)], deadlineMs: deadlineMs)[0]
        return r != 0
    }

    /// Ends a data connection the way clients expect: TLS close_notify, FIN, then the descriptor. Input the
    /// peer already sent is drained first, so the close does not turn into a reset that could destroy bytes
    /// still in flight to it.
    func finish() {
        tls?.shutdown()
        Socket.shutdownWrite(fd)
        var scratch = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            guard case .processed(let n)? = scratch.withUnsafeMutableBytes({ try? Socket.read(fd, into: $0) }), n > 0
            else { break }
        }
        close()
    }

    func close() {
        guard !closed else { return }
        closed = true
        tls = nil
        Sys.close(fd)
    }
}

@available(*, unavailable)
extension FTPStream: Sendable {}

/// Makes a descriptor non-blocking (accepted sockets already are; this is for certainty).
func setNonBlocking(_ fd: Int32) {
    Socket.setBlocking(fd, false)
}

/// The address a socket is bound to (the control connection's local IP for 227 and the passive bind).
func localAddress(_ fd: Int32) -> PeerAddress? {
    Socket.localAddress(fd).map(normalized)
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, a dual-stack listener's view of an IPv4 peer) as plain IPv4,
/// so PASV works and peer checks compare like with like.
func normalized(_ p: PeerAddress) -> PeerAddress {
    guard p.bytes.count == 16, p.bytes[0..<10].allSatisfy({ $0 == 0 }), p.bytes[10] == 0xFF, p.bytes[11] == 0xFF else {
        return p
    }
    let v4 = Array(p.bytes[12..<16])
    return PeerAddress(host: v4.map(String.init).joined(separator: "."), port: p.port, bytes: v4)
}
