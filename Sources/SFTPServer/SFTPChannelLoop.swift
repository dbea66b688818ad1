//===----------------------------------------------------------------------===//
// ImageGate: the data phase of a session: channel bytes in, SFTP packets processed, replies out in batches.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLibSSH
import GateCore

/// Blocking channel I/O on the session thread (Docs/sftp-notes.md §6, step 3). Reads wait at most one second, so
/// the loop notices stop requests and re-asks the policy on time; writes that block on a closed window are
/// bounded by the stall deadline the watchdog enforces.
struct SFTPChannelLoop {
    let session: SSHSession

    func run() {
        guard let channel = session.channel, let file = session.file else { return }
        let ctx = session.ctx
        let control = session.control
        let processor = SFTPProcessor(file: file, source: BlobByteSource(blob: session.blob!))
        let session = self.session
        processor.openCheck = { sent in
            ctx.policy.refuseOpen(file, unreported: sent - session.usage.reported, peer: control.peer)
        }
        let out = SFTPReplyBuffer(capacity: SFTPWireLimits.maxRead + 64 * 1024)
        var framer = SFTPFramer()
        let chunk = 64 * 1024
        let inbuf = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer {
            inbuf.deallocate()
            session.bytesSent = processor.bytesSent
        }
        var nextCheck = Monotonic.milliseconds() + ctx.config.revalidateIntervalMs
        // The idle deadline runs from the last request (or the last reply written), not from each 1 s poll.
        control.arm(ctx.config.idleTimeoutMs, reason: .idleTimeout)

        while true {
            let now = Monotonic.milliseconds()
            if now >= nextCheck {
                nextCheck = now + ctx.config.revalidateIntervalMs
                guard ctx.policy.stillValid(file) else {
                    session.outcome = .revoked
                    // Told to the client when the session finishes (`SSHSession.endMessage`).
                    session.endMessage = ctx.policy.refusalMessage(file, peer: control.peer)
                    ctx.logger.info("sftp \(control.peer): \(file.logID) no longer valid: session ended")
                    return
                }
            }
            if control.cutReason != nil { return }
            let n = ssh_channel_read_timeout(channel, inbuf, UInt32(chunk), 0, 1000)
            if n == SSH_ERROR {
                session.outcome = .disconnected
                return
            }
            if n == 0 {
                if ssh_channel_is_eof(channel) != 0 || ssh_channel_is_open(channel) == 0 { return }
                continue
            }
            control.arm(ctx.config.idleTimeoutMs, reason: .idleTimeout)
            framer.append(UnsafeRawBufferPointer(start: inbuf, count: Int(n)))
            do {
                while let result = try framer.next({ processor.handle($0, into: out) }) {
                    if case .close(let why) = result {
                        session.outcome = .protocolError
                        ctx.logger.info("sftp \(control.peer): \(why): session ended")
                        _ = flush(out, channel)
                        return
                    }
                    if out.count >= ctx.config.writeBatchBytes {
                        guard flush(out, channel) else { return }
                        session.bytesSent = processor.bytesSent
                    }
                }
            } catch {
                session.outcome = .protocolError
                ctx.logger.info("sftp \(control.peer): \(error): session ended")
                return
            }
            // Flush when the client has nothing more queued: small replies leave at once, and pipelined
            // READs are coalesced into full SSH packets (Docs/sftp-notes.md §9).
            if out.count > 0 && ssh_channel_poll(channel, 0) <= 0 {
                guard flush(out, channel) else { return }
            }
            session.bytesSent = processor.bytesSent
            if let bytes = session.usage.due(total: processor.bytesSent) {
                ctx.policy.usage(file, newSession: false, bytes: bytes, peer: control.peer)
            }
        }
    }

    /// Writes everything in `out`. libssh returns a short count when the peer's window stays closed past the
    /// session timeout; the loop retries until the watchdog's stall deadline cuts the socket.
    private func flush(_ out: SFTPReplyBuffer, _ channel: ssh_channel) -> Bool {
        let control = session.control
        control.arm(session.ctx.config.stallTimeoutMs, reason: .stallTimeout)
        while out.count > 0 {
            let w = ssh_channel_write(channel, out.storage, UInt32(out.count))
            if w == SSH_ERROR || control.cutReason != nil {
                if session.outcome == .completed { session.outcome = .connectionLost }
                return false
            }
            if w > 0 {
                out.consume(Int(w))
                control.arm(session.ctx.config.stallTimeoutMs, reason: .stallTimeout)
            }
        }
        control.arm(session.ctx.config.idleTimeoutMs, reason: .idleTimeout)
        return true
    }
}
