//===----------------------------------------------------------------------===//
// ImageGate: the byte pipe under a connection: plain TCP (send/sendfile) or TLS (SSL_write, or
// SSL_sendfile under kernel TLS). The response writer never knows which.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import SystemIO
import TLSSupport

enum TransportResult {
    case done(Int)
    /// Try again when the socket is ready for `needs`.
    case wouldBlock(needs: EpollEvents)
    /// Orderly end of input.
    case endOfInput
    case failed(errno: Int32, String)
}

/// A connection's transport. Confined to the connection's loop thread.
protocol Transport: AnyObject {
    /// Completes any handshake; `.done(0)` when the transport is ready for data.
    func prepare() -> TransportResult
    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult
    /// Sends `buffer`; `followedBy` response bytes come right after it (0: nothing pending), so the transport
    /// may join them (TLS: one record; plain TCP: one segment when they are few, see `PlainTransport.corkLimit`).
    func send(_ buffer: UnsafeRawBufferPointer, followedBy: UInt64) -> TransportResult
    /// Sends up to `count` bytes of `file` from `offset`; returns how many file bytes were taken, with
    /// `sendfile` semantics: a retry after `.wouldBlock` continues at the new offset.
    func sendFile(_ file: Int32, offset: UInt64, count: Int) -> TransportResult
    /// Ends the write side (TLS: close_notify first).
    func shutdownWrite(fd: Int32)
    /// Input already taken from the socket but not yet returned by `read` (TLS records): epoll will not
    /// report it, so the reader must keep reading while this is true.
    var hasBufferedInput: Bool { get }
}

/// Plain TCP: `recv`/`send` and zero-copy `sendfile`.
final class PlainTransport: Transport {
    /// A head is sent with MSG_MORE (held by the kernel and joined to the body's first segment) only when at
    /// most this many body bytes follow. Measured on Linux 6.18 with BBR (issue 17; Docs/architecture.md,
    /// "Threads", writing a response): a corked head in front of a 64 KiB sendfile made TCP arm its pacing
    /// timer about once per request and cost about 20 µs of server CPU per request more than a head sent on
    /// its own, as nginx sends it (`tcp_nopush off`); for a 128-byte body the joined segment is cheaper, and at
    /// 16 KiB the two ways cost the same.
    static let corkLimit: UInt64 = 16 * 1024
    let fd: Int32
    init(fd: Int32) { self.fd = fd }

    func prepare() -> TransportResult { .done(0) }

    private func map(_ body: () throws(SystemError) -> IOResult<Int>, needs: EpollEvents) -> TransportResult {
        do {
            switch try body() {
            case .processed(let n): return .done(n)
            case .wouldBlock: return .wouldBlock(needs: needs)
            }
        } catch {
            return .failed(errno: error.errno, error.description)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult {
        let r = map({ () throws(SystemError) in try Socket.read(fd, into: buffer) }, needs: .readable)
        if case .done(0) = r { return .endOfInput }
        return r
    }

    /// MSG_MORE for a write that `followedBy` bytes follow.
    static func corks(followedBy: UInt64) -> Bool { followedBy > 0 && followedBy <= corkLimit }

    func send(_ buffer: UnsafeRawBufferPointer, followedBy: UInt64) -> TransportResult {
        let more = Self.corks(followedBy: followedBy)
        return map({ () throws(SystemError) in try Socket.send(fd, buffer, more: more) }, needs: .writable)
    }

    func sendFile(_ file: Int32, offset: UInt64, count: Int) -> TransportResult {
        var off = Int64(offset)
        return map(
            { () throws(SystemError) in try Socket.sendfile(fd, file: file, offset: &off, count: count) },
            needs: .writable)
    }

    func shutdownWrite(fd: Int32) { Socket.shutdownWrite(fd) }

    var hasBufferedInput: Bool { false }
}

/// TLS through OpenSSL. File bytes go through a bounded 128 KiB buffer (`pread` then `SSL_write`), or
/// `SSL_sendfile` when the kernel does the TLS record layer (kTLS): file bytes never reach the TLS layer
/// as a file region otherwise (the NIO `FileRegion` lesson, Docs/style.md §2.5).
///
/// A response head sent with body bytes following (`followedBy` > 0) is held back and written in the same `SSL_write` as the first body
/// bytes (nginx's `ssl_buffer_size` does the same): one TLS record and one socket write fewer per response,
/// which is most of what a 64 KiB range over HTTPS costs beyond the copy and the cipher.
final class TLSTransport: Transport {
    static let chunk = 128 * 1024
    /// Heads up to this size are held back; a larger one is written at once.
    static let holdLimit = 16 * 1024
    let session: TLSSession
    /// `buffer[pendingStart..<pendingEnd]` is written but not yet accepted by `SSL_write`: first
    /// `pendingHead` bytes of a held head, then file bytes starting at file offset `pendingFileOffset`.
    /// A retried SSL_write must see the same bytes again.
    private var buffer: [UInt8] = []
    private var pendingStart = 0
    private var pendingEnd = 0
    private var pendingHead = 0
    private var pendingFileOffset: UInt64 = 0
    /// A head held back by `send(_:followedBy:)` with bytes following, not yet in `buffer`.
    private var held: [UInt8] = []

    init(session: TLSSession) {
        self.session = session
        // The event loop asks `hasBufferedInput` before it waits for epoll, so read-ahead is safe here.
        session.enableReadAhead()
    }

    private func map(_ n: Int, _ s: TLSStatus) -> TransportResult {
        switch s {
        case .ok: return .done(n)
        case .wantRead: return .wouldBlock(needs: .readable)
        case .wantWrite: return .wouldBlock(needs: .writable)
        case .closed: return .endOfInput
        case .failed(let why): return .failed(errno: ECONNRESET, why)
        }
    }

    func prepare() -> TransportResult {
        map(0, session.handshake())
    }

    var hasBufferedInput: Bool { session.hasBufferedInput }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult {
        let (n, s) = session.read(into: buffer)
        return map(n, s)
    }

    /// Writes a held head on its own (the next piece is not file bytes we could join it with).
    /// `.done(0)` once nothing is held.
    private func flushHeld() -> TransportResult {
        while !held.isEmpty {
            let (n, s) = held.withUnsafeBytes { session.write($0) }
            guard s == .ok else { return map(n, s) }
            held.removeFirst(n)
        }
        return .done(0)
    }

    func send(_ bytes: UnsafeRawBufferPointer, followedBy: UInt64) -> TransportResult {
        if followedBy > 0 && held.isEmpty && pendingStart == pendingEnd && bytes.count <= Self.holdLimit {
            held.append(contentsOf: bytes)
            return .done(bytes.count)
        }
        let flushed = flushHeld()
        guard case .done = flushed else { return flushed }
        let (n, s) = session.write(bytes)
        return map(n, s)
    }

    func sendFile(_ file: Int32, offset: UInt64, count: Int) -> TransportResult {
        if pendingStart == pendingEnd && session.kernelSendEnabled {
            let flushed = flushHeld()
            guard case .done = flushed else { return flushed }
            let (n, s) = session.sendfile(fd: file, offset: Int64(offset), count: count)
            return map(n, s)
        }
        if pendingStart + pendingHead == pendingEnd || pendingFileOffset != offset {
            // Refill: the previous chunk was fully accepted (or the caller moved on to another range). A head
            // still pending stays in front of the new file bytes.
            if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: Self.chunk + Self.holdLimit) }
            let keep = pendingHead
            buffer.withUnsafeMutableBytes { b in
                if keep > 0 && pendingStart > 0 {
                    b.baseAddress!.copyMemory(from: b.baseAddress! + pendingStart, byteCount: keep)
                }
            }
            var head = keep
            if !held.isEmpty {
                let h = held.count
                buffer.withUnsafeMutableBytes { b in
                    held.withUnsafeBytes { (b.baseAddress! + head).copyMemory(from: $0.baseAddress!, byteCount: h) }
                }
                head += h
                held.removeAll(keepingCapacity: true)
            }
            let want = min(count, Self.chunk)
            let got: Int
            do {
                got = try FileIO.pread(file, into: &buffer, range: head..<(head + want), at: offset)
            } catch {
                return .failed(errno: error.errno, error.description)
            }
            if got == 0 { return .done(0) }  // the writer treats 0 as a truncated file
            pendingStart = 0
            pendingHead = head
            pendingEnd = head + got
            pendingFileOffset = offset
        }
        let fileBytes = min(pendingEnd - pendingStart - pendingHead, count)
        let (n, s) = buffer.withUnsafeBytes { b in
            session.write(UnsafeRawBufferPointer(rebasing: b[pendingStart..<(pendingStart + pendingHead + fileBytes)]))
        }
        guard s == .ok else { return map(n, s) }
        pendingStart += n
        let fromHead = min(n, pendingHead)
        pendingHead -= fromHead
        let fromFile = n - fromHead
        pendingFileOffset += UInt64(fromFile)
        // Only head bytes left (a partial write: the socket is full): no file byte was taken yet.
        if fromFile == 0 { return .wouldBlock(needs: .writable) }
        return .done(fromFile)
    }

    func shutdownWrite(fd: Int32) {
        held.removeAll()
        session.shutdown()
        Socket.shutdownWrite(fd)
    }
}
