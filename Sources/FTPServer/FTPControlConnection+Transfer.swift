//===----------------------------------------------------------------------===//
// ImageGate: one data transfer of a control connection: 150, accept, TLS, send, then the final reply.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import SystemIO
import TLSSupport

extension FTPControlConnection {
    func transfer(_ t: FTPTransfer) {
        let started = Monotonic.milliseconds()
        guard let listener = passive else {
            send(.usePassive)
            return
        }
        passive = nil
        defer { listener.close() }
        // Every path below sets the outcome (finish or conclude) before the line is written.
        var record = FTPAccessRecord(
            startedMs: started, proto: proto, peer: peer, method: "", path: "/", status: 0,
            outcome: .localError, token: session.file?.logID)
        var blob: (any BlobReader)?
        switch t {
        case .file(let f, let offset):
            record.method = "RETR"
            record.path = "/" + f.name
            record.offset = offset
            // Open and check the blob before 150, so a missing file is a clean 451 with no data connection.
            do {
                blob = try f.open()
            } catch {
                ctx.logger.error("ftp: blob of \(f.grant) cannot be read: \(error.message)")
                finish(&record, FTPReply.from(GateError.io("blob")), outcome: .localError)
                return
            }
            // Bytes that must be fetched first (a cold slice of an object-store blob): fetch the first ones now,
            // so a store that is down is a clean 451 before 150 and no data connection is opened for nothing.
            if let blob, blob is any PreparableBlobReader, offset < f.size {
                do {
                    _ = try blob.extent(at: offset, maxLength: 1)
                } catch {
                    ctx.logger.warning("ftp: \(peer): \(record.path): \(error.message)")
                    finish(&record, FTPReply.from(error), outcome: Self.outcome(of: error))
                    return
                }
            }
            // vsftpd's wording; curl and wget read "(N bytes)" when SIZE was not asked.
            let mode = session.binary ? "BINARY" : "ASCII"
            send(FTPReply(150, "Opening \(mode) mode data connection for \(f.name) (\(f.size) bytes)."))
        case .listing(let verb, _):
            record.method = verb
            send(FTPReply(150, "Here comes the directory listing."))
        }
        if closing { return }

        let data: FTPStream
        switch DataSender.accept(
            listener, peer: peer, deadlineMs: Monotonic.milliseconds() + ctx.config.dataTimeoutMs, watch: self,
            logger: ctx.logger)
        {
        case .timeout:
            finish(&record, .noDataConnection, outcome: .noDataConnection)
            return
        case .stop(let o):
            conclude(o, &record, sent: 0)
            return
        case .connection(let fd, _):
            setNonBlocking(fd)
            data = FTPStream(fd: fd)
        }
        defer { data.close() }
        if session.protectData, let tls = ctx.tls {
            // RFC 4217 §9: the data connection gets its own handshake; clients resume the control session.
            // Resumption is logged, not required (vsftpd's require_ssl_reuse breaks some clients).
            do {
                try data.startTLS(tls, deadlineMs: Monotonic.milliseconds() + ctx.config.dataTimeoutMs)
                record.dataTLS = data.tls?.sessionReused == true ? "resumed" : "full_handshake"
            } catch {
                ctx.logger.info("ftp: \(peer): data connection \(error.message)")
                finish(&record, FTPReply(522, "TLS handshake on the data connection failed."), outcome: .tlsFailed)
                return
            }
        }
        var sent: UInt64 = 0
        let outcome: TransferOutcome
        switch t {
        case .file(let f, let offset):
            // Always set for a RETR (opened before 150 above); the reply still ends the transfer if not.
            guard let blob else {
                conclude(.localError("blob not open"), &record, sent: 0)
                return
            }
            outcome = DataSender.sendFile(
                data, blob: blob, offset: offset, count: f.size - offset, config: ctx.config, watch: self,
                sent: &sent)
        case .listing(_, let bytes):
            outcome = DataSender.sendBytes(data, bytes, config: ctx.config, watch: self)
            if outcome == .complete { sent = UInt64(bytes.count) }
        }
        if outcome == .complete { data.finish() } else { data.close() }
        conclude(outcome, &record, sent: sent)
    }

    /// The replies that end a transfer (RFC 959 §4.1.3 for ABOR: 426 for the transfer, then 226).
    private func conclude(_ o: TransferOutcome, _ record: inout FTPAccessRecord, sent: UInt64) {
        record.bytes = sent
        switch o {
        case .complete: finish(&record, .transferComplete, outcome: .complete)
        case .aborted:
            finish(&record, FTPReply(426, "Transfer aborted."), outcome: .aborted)
            send(FTPReply(226, "ABOR successful."))
        case .quit:
            finish(&record, FTPReply(426, "Transfer aborted."), outcome: .quit)
            send(.goodbye)
            closing = true
        case .peerClosed: finish(&record, .transferAborted, outcome: .peerClosed)
        case .stalled: finish(&record, FTPReply(426, "Transfer timed out."), outcome: .stalled)
        case .controlLost:
            record.status = 0
            record.outcome = .controlLost
            ctx.accessLog.write(record)
            sessionBytes += record.bytes
            sessionTransfers += 1
            closing = true
        case .localError(let why):
            ctx.logger.error("ftp: \(peer): \(record.path): \(why)")
            finish(&record, FTPReply.from(GateError.io(why)), outcome: .localError)
        case .storeFailed(let error):
            ctx.logger.warning("ftp: \(peer): \(record.path): \(error.message)")
            finish(&record, FTPReply.from(error), outcome: Self.outcome(of: error))
        }
    }

    /// The access log's word for a store failure: `store_unavailable` when a retry may work.
    static func outcome(of error: GateError) -> AccessOutcome {
        error.code == .unavailable ? .storeUnavailable : .localError
    }

    private func finish(_ record: inout FTPAccessRecord, _ reply: FTPReply, outcome: AccessOutcome) {
        send(reply)
        record.status = reply.code
        record.outcome = outcome
        ctx.accessLog.write(record)
        sessionBytes += record.bytes
        sessionTransfers += 1
    }
}
