//===----------------------------------------------------------------------===//
// ImageGate: passive data connections: the listener, the peer check, and sending a file or a listing.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import SystemIO

/// One PASV/EPSV listener: bound to the control connection's local IP, waiting for exactly one connection
/// from the control connection's peer (Docs/protocols.md §6.3, "Pizza Thief" CVE-1999-0351).
struct PassiveListener {
    let fd: Int32
    let port: UInt16
    let openedMs: Int64

    /// Binds a port from `range` (random start, then upwards, wrapping) or an ephemeral one.
    static func open(local: PeerAddress, range: ClosedRange<UInt16>?) throws(GateError) -> PassiveListener {
        let now = Monotonic.milliseconds()
        guard let range else {
            do {
                let fd = try Socket.listen(ListenAddress(host: local.host, port: 0), backlog: 4)
                return PassiveListener(fd: fd, port: Socket.localPort(fd), openedMs: now)
            } catch {
                throw GateError.io("passive listener: \(error)")
            }
        }
        let count = Int(range.upperBound) - Int(range.lowerBound) + 1
        let start = Int.random(in: 0..<count)
        for i in 0..<min(count, 1000) {
            let port = UInt16(Int(range.lowerBound) + (start + i) % count)
            do {
                let fd = try Socket.listen(ListenAddress(host: local.host, port: port), backlog: 4)
                return PassiveListener(fd: fd, port: port, openedMs: now)
            } catch {
                if error.errno == EADDRINUSE || error.errno == EACCES { continue }
                throw GateError.io("passive listener: \(error)")
            }
        }
        throw GateError.io("passive listener: no free port in \(range.lowerBound)-\(range.upperBound)")
    }

    func close() { Sys.close(fd) }
}

/// How a transfer ended.
enum TransferOutcome: Equatable {
    case complete
    /// ABOR arrived on the control connection (RFC 959 §4.1.3: 426, then 226 for the ABOR).
    case aborted
    /// QUIT arrived during the transfer: abort, then 221 and close.
    case quit
    /// The client closed or reset the data connection first (lftp pget and aria2 do at chunk ends).
    case peerClosed
    /// No byte accepted for `sendTimeoutMs`.
    case stalled
    /// The control connection is gone.
    case controlLost
    /// The blob could not be read (truncated, I/O error).
    case localError(String)
    /// The blob's store could not deliver the bytes (an object store down or slow: a cold slice of the read
    /// cache could not be fetched). `unavailable` is the transient kind: 451, the client retries.
    case storeFailed(GateError)
}

/// Watches the control connection while data flows: an ABOR or QUIT must be seen mid-transfer.
protocol ControlWatch: AnyObject {
    var controlFD: Int32 { get }
    /// Reads what arrived on the control connection and says whether it asks to stop.
    func controlActivity() -> TransferOutcome?
    /// The file transfer under way has sent `sent` bytes so far (the link's usage, `UsageReporter`).
    func transferProgress(sent: UInt64)
}

enum Accepted {
    case connection(Int32, PeerAddress)
    case stop(TransferOutcome)
    case timeout
}

enum DataSender {
    /// Accepts the data connection: only from `peer`'s IP; others are closed and logged, and waiting goes
    /// on until the deadline (the legitimate client is not disturbed by a thief).
    static func accept(
        _ listener: PassiveListener, peer: PeerAddress, deadlineMs: Int64, watch: any ControlWatch, logger: Logger
    ) -> Accepted {
        while true {
            let r = pollFDs([(listener.fd, pollIn), (watch.controlFD, pollIn)], deadlineMs: deadlineMs)
            if r[1] != 0, let stop = watch.controlActivity() { return .stop(stop) }
            if r[0] == 0 && r[1] == 0 { return .timeout }
            guard r[0] != 0 else { continue }
            guard case .processed(let (fd, from))? = try? Socket.accept(listener.fd) else { continue }
            let who = normalized(from)
            if who.bytes != peer.bytes {
                logger.warning("ftp: data connection from \(who) refused: control peer is \(peer.host)")
                Sys.close(fd)
                continue
            }
            return .connection(fd, who)
        }
    }

    /// Sends `count` bytes of `file` from `offset`: sendfile on clear connections, pread into a bounded
    /// buffer and TLS writes on protected ones (Docs/style.md §2.5). `sent` counts bytes the socket accepted.
    static func sendFile(
        _ data: FTPStream, blob: any BlobReader, offset: UInt64, count: UInt64, config: FTPConfig,
        watch: any ControlWatch,
        sent: inout UInt64
    ) -> TransferOutcome {
        var off = Int64(offset)
        let end = Int64(offset + count)
        var buffer: [UInt8] = data.tls == nil ? [] : [UInt8](repeating: 0, count: config.tlsChunkBytes)
        var pending = 0..<0  // bytes in `buffer` not yet accepted by TLS
        var wantRead = false
        var lastProgress = Monotonic.milliseconds()
        while off < end || !pending.isEmpty {
            let r = pollFDs(
                [(data.fd, wantRead ? pollIn : pollOut), (watch.controlFD, pollIn)],
                deadlineMs: lastProgress + config.sendTimeoutMs)
            if r[1] != 0, let stop = watch.controlActivity() { return stop }
            if r[0] == 0 {
                if r[1] == 0 { return .stalled }
                continue
            }
            if data.tls == nil {
                if r[0] & pollEnd != 0 && r[0] & pollOut == 0 { return .peerClosed }
                let chunk = UInt64(min(Int64(config.sendfileChunkBytes), end - off))
                // The store says where these bytes are: the blob itself, or a cached slice of it (fetched first
                // when cold: this thread may wait for the object store, up to its timeout).
                let extent: BlobExtent
                do {
                    extent = try blob.extent(at: UInt64(off), maxLength: chunk)
                    (blob as? any PreparableBlobReader)?.readAhead(at: UInt64(off), end: UInt64(end))
                } catch {
                    return .storeFailed(error)
                }
                guard extent.length > 0 else { return .localError("image file ended early (truncated?)") }
                defer { withExtendedLifetime(extent) {} }
                var fileOffset = Int64(extent.offset)
                switch try? Socket.sendfile(data.fd, file: extent.fd, offset: &fileOffset, count: Int(extent.length)) {
                case .processed(let n)?:
                    if n == 0 { return .localError("image file ended early (truncated?)") }
                    off += fileOffset - Int64(extent.offset)
                    sent += UInt64(fileOffset - Int64(extent.offset))
                    lastProgress = Monotonic.milliseconds()
                    watch.transferProgress(sent: sent)
                case .wouldBlock?: continue
                case nil: return .peerClosed
                }
            } else {
                if pending.isEmpty {
                    let want = UInt64(min(Int64(buffer.count), end - off))
                    let extent: BlobExtent
                    do {
                        extent = try blob.extent(at: UInt64(off), maxLength: want)
                    } catch {
                        return .storeFailed(error)
                    }
                    guard extent.length > 0 else { return .localError("image file ended early") }
                    defer { withExtendedLifetime(extent) {} }
                    let n = buffer.withUnsafeMutableBytes {
                        try? FileIO.pread(
                            extent.fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[..<Int(extent.length)]),
                            at: extent.offset)
                    }
                    guard let n, n > 0 else { return .localError(n == 0 ? "image file ended early" : "pread failed") }
                    off += Int64(n)
                    pending = 0..<n
                }
                let w: Int
                do {
                    w = try buffer.withUnsafeBytes { b throws(GateError) in
                        try data.writeSome(UnsafeRawBufferPointer(rebasing: b[pending]))
                    }
                } catch {
                    return .peerClosed
                }
                wantRead = w == -2
                if w > 0 {
                    pending = (pending.lowerBound + w)..<pending.upperBound
                    sent += UInt64(w)
                    lastProgress = Monotonic.milliseconds()
                    watch.transferProgress(sent: sent)
                }
            }
        }
        return .complete
    }

    /// Sends a listing (a few hundred bytes) with the same watch and timeouts.
    static func sendBytes(_ data: FTPStream, _ bytes: [UInt8], config: FTPConfig, watch: any ControlWatch)
        -> TransferOutcome
    {
        var off = 0
        let deadline = Monotonic.milliseconds() + config.sendTimeoutMs
        while off < bytes.count {
            let w: Int
            do {
                w = try bytes.withUnsafeBytes { b throws(GateError) in
                    try data.writeSome(UnsafeRawBufferPointer(rebasing: b[off...]))
                }
            } catch {
                return .peerClosed
            }
            if w > 0 {
                off += w
                continue
            }
            let r = pollFDs([(data.fd, w == -2 ? pollIn : pollOut), (watch.controlFD, pollIn)], deadlineMs: deadline)
            if r[1] != 0, let stop = watch.controlActivity() { return stop }
            if r[0] == 0 && r[1] == 0 { return .stalled }
        }
        return .complete
    }
}
