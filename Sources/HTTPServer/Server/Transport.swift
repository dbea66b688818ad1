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

/// One event loop's buffer for file bytes on their way into `SSL_write`, shared by the loop's TLS connections.
/// A chunk is read into it and written out before the loop serves another connection, so the same memory is
/// still in the CPU's cache at the next request, where a 144 KiB buffer per connection (2.3 MB for 16
/// connections, more than a core's L2) was cold each time its connection came round again (issue 17, HTTPS
/// row). Bytes the socket did not take move into the connection's own buffer (`TLSTransport.pending`).
final class TLSScratch {
    var bytes: [UInt8] = []
}

/// TLS through OpenSSL. File bytes go through a bounded 128 KiB buffer (`pread` then `SSL_write`), or
/// `SSL_sendfile` when the kernel does the TLS record layer (kTLS): file bytes never reach the TLS layer
/// as a file region otherwise (the NIO `FileRegion` lesson, Docs/style.md §2.5).
///
/// A response head sent with body bytes following (`followedBy` > 0) is held back and written in the same
/// `SSL_write` as the first body bytes (nginx's `ssl_buffer_size` does the same): one TLS record and one socket
/// write fewer per response, which is most of what a 64 KiB range over HTTPS costs beyond the copy and the cipher.
final class TLSTransport: Transport {
    static let chunk = 128 * 1024
    /// Heads up to this size are held back; a larger one is written at once.
    static let holdLimit = 16 * 1024
    let session: TLSSession
    private let scratch: TLSScratch
    /// `pending[pendingStart..<pendingEnd]` was given to `SSL_write` but not accepted (the socket was full):
    /// first `pendingHead` bytes of a held head, then file bytes starting at file offset `pendingFileOffset`.
    /// A retried SSL_write must see the same bytes again (OpenSSL may hold a part-sent record of them).
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var pendingEnd = 0
    private var pendingHead = 0
    private var pendingFileOffset: UInt64 = 0
    /// A head held back by `send(_:followedBy:)` with bytes following, not yet written.
    private var held: [UInt8] = []

    init(session: TLSSession, scratch: TLSScratch) {
        self.session = session
        self.scratch = scratch
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
        if pendingStart < pendingEnd {
            // The writer retries where it was told it got to, which is where the pending bytes start.
            guard offset == pendingFileOffset else {
                return .failed(errno: EINVAL, "TLS file write out of step: \(offset) after \(pendingFileOffset)")
            }
            return writePending()
        }
        if session.kernelSendEnabled {
            let flushed = flushHeld()
            guard case .done = flushed else { return flushed }
            let (n, s) = session.sendfile(fd: file, offset: Int64(offset), count: count)
            return map(n, s)
        }
        // A fresh chunk in the loop's scratch buffer: the held head (if any) in front of up to `chunk` file bytes.
        if scratch.bytes.count < Self.chunk + Self.holdLimit {
            scratch.bytes = [UInt8](repeating: 0, count: Self.chunk + Self.holdLimit)
        }
        let head = held.count
        let got: Int
        do {
            got = try FileIO.pread(
                file, into: &scratch.bytes, range: head..<(head + min(count, Self.chunk)), at: offset)
        } catch {
            return .failed(errno: error.errno, error.description)
        }
        if got == 0 { return .done(0) }  // the writer treats 0 as a truncated file
        if head > 0 {
            scratch.bytes.withUnsafeMutableBytes { b in
                held.withUnsafeBytes { b.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: head) }
            }
            held.removeAll(keepingCapacity: true)
        }
        var start = 0
        let end = head + got
        var headLeft = head
        var taken = 0
        while start < end {
            let (n, s) = scratch.bytes.withUnsafeBytes { b in
                session.write(UnsafeRawBufferPointer(rebasing: b[start..<end]))
            }
            guard s == .ok else {
                // Keep what was not accepted for the retry: the scratch buffer belongs to the next connection.
                pending.removeAll(keepingCapacity: true)
                pending.append(contentsOf: scratch.bytes[start..<end])
                pendingStart = 0
                pendingEnd = pending.count
                pendingHead = headLeft
                pendingFileOffset = offset + UInt64(taken)
                return taken > 0 ? .done(taken) : map(n, s)
            }
            start += n
            let fromHead = min(n, headLeft)
            headLeft -= fromHead
            taken += n - fromHead
        }
        return .done(taken)
    }

    /// Writes bytes kept from a chunk the socket did not take; reports the file bytes of them accepted.
    private func writePending() -> TransportResult {
        var taken = 0
        while pendingStart < pendingEnd {
            let (n, s) = pending.withUnsafeBytes { b in
                session.write(UnsafeRawBufferPointer(rebasing: b[pendingStart..<pendingEnd]))
            }
            guard s == .ok else { return taken > 0 ? .done(taken) : map(n, s) }
            pendingStart += n
            let fromHead = min(n, pendingHead)
            pendingHead -= fromHead
            pendingFileOffset += UInt64(n - fromHead)
            taken += n - fromHead
        }
        // The kept bytes end in file bytes (a chunk is kept only when it read some), so `taken` > 0 here; were it
        // 0, `.done(0)` would read as a truncated file.
        return taken > 0 ? .done(taken) : .wouldBlock(needs: .writable)
    }

    func shutdownWrite(fd: Int32) {
        held.removeAll()
        session.shutdown()
        Socket.shutdownWrite(fd)
    }
}
