//===----------------------------------------------------------------------===//
// ImageGate: one tus PATCH streamed into an upload: offset check, in-line checks, chunk checksum.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Foundation
import GateCore
import HTTPServer
import ImageCatalog
import ImportPipeline

/// tus checksum extension: `Upload-Checksum: <algorithm> <base64 digest>` over this PATCH's body.
struct ChunkChecksum {
    let algorithm: String
    let expected: [UInt8]
    init?(header: String) {
        let parts = header.split(separator: " ")
        guard parts.count == 2, ["sha1", "sha256", "md5"].contains(parts[0].lowercased()),
            let d = Data(base64Encoded: String(parts[1]))
        else { return nil }
        algorithm = parts[0].lowercased()
        expected = Array(d)
    }
}

final class PatchSink: BodySink {
    private let session: UploadSession
    private let imports: ImportManager
    private let startOffset: UInt64
    private let digest: Digest?
    private let checksum: ChunkChecksum?
    private var received: UInt64 = 0
    private var failure: ImportFailure?

    private init(session: UploadSession, imports: ImportManager, offset: UInt64, checksum: ChunkChecksum?) {
        self.session = session
        self.imports = imports
        self.startOffset = offset
        self.checksum = checksum
        self.digest = checksum.map { Digest(algorithm: $0.algorithm) }
    }

    /// Checks the PATCH against the session before any body byte is read (tus: 409 on a wrong offset), and
    /// takes the upload's lease for it (UploadLeases.swift): a PATCH in progress on another node is a 409 too.
    static func start(
        session s: UploadSession, imports: ImportManager, offset: UInt64, length: UInt64, checksum: ChunkChecksum?
    ) -> BodyHandling {
        let early: Response? = s.withState { st in
            if st.finished { return TusHandler.answer(404, "no such upload") }
            if st.busy { return TusHandler.answer(409, "another PATCH to this upload is in progress") }
            return nil
        }
        if let early { return .refuse(early) }
        switch imports.claimUpload(s.imageID) {
        case .claimed: break
        case .heldElsewhere(let holder):
            return .refuse(
                TusHandler.answer(
                    409, "another PATCH to this upload is in progress (node \(holder.node)); retry after HEAD"))
        case .gone: return .refuse(TusHandler.answer(404, "no such upload"))
        case .catalogFailed(let error) where error.isCatalogFull:
            // The disk the catalog shares with the staged bytes is full: fail the import as a staging write that
            // found the disk full would (its bytes go first, so the failure can be recorded), with 507.
            let failure = ImportFailure(
                reason: "the server ran out of disk space: the catalog cannot record the upload", cause: .storageFull)
            imports.fail(s.imageID, reason: failure.reason)
            return .refuse(TusHandler.answer(status(failure.cause), "import failed: \(failure.reason)"))
        case .catalogFailed(let error):
            // Unreachable or busy: nothing was written and nothing is lost; the client retries (tus HEAD, PATCH).
            return .refuse(TusHandler.answer(503, error.message, [("Retry-After", "1")]))
        }
        // Another node may have written the shared staging file since this process last did: a cached sink
        // whose offset is not the file's is rebuilt from the file.
        let staged = imports.stagedSize(s.imageID) ?? 0
        var keepLease = true
        // First the session is reserved (`busy`); a sink to create or reopen (an object store reads the tail back)
        // is made outside the lock, so a HEAD or a cancel of this upload does not wait for the store.
        var stale: ImportSink?
        let reserved: Response? = s.withState { st in
            if st.finished { return TusHandler.answer(404, "no such upload") }
            if st.busy {
                keepLease = false  // a PATCH of this process holds it; not ours to release
                return TusHandler.answer(409, "another PATCH to this upload is in progress")
            }
            if st.sink != nil, st.offset != staged {
                stale = st.sink
                st.sink = nil
            }
            st.busy = true
            return nil
        }
        stale = nil  // closed outside the lock
        var made: Result<ImportSink, GateError>?
        if reserved == nil, s.withState({ $0.sink == nil }) {
            do throws(GateError) {
                made = .success(try imports.makeSink(for: s))
            } catch {
                made = .failure(error)
            }
        }
        var cancelled: ImportSink?
        let refusal: Response? =
            reserved
            ?? s.withState { st in
                if st.finished {
                    // Cancelled meanwhile: a sink just made goes (outside the lock) with what it staged.
                    if case .success(let sink) = made { cancelled = sink }
                    st.busy = false
                    return TusHandler.answer(404, "no such upload")
                }
                switch made {
                case .failure(let error):
                    st.busy = false
                    return TusHandler.answer(APIError.status(error.code), error.message)
                case .success(let sink):
                    st.sink = sink
                    st.offset = sink.bytes
                case nil: break
                }
                if offset != st.offset {
                    st.busy = false
                    return TusHandler.answer(
                        409, "Upload-Offset \(offset) does not match the upload's offset \(st.offset)",
                        [("Upload-Offset", String(st.offset))])
                }
                if offset + length > s.length {
                    st.busy = false
                    return TusHandler.answer(413, "the body goes past Upload-Length \(s.length)")
                }
                return nil
            }
        cancelled?.abandon()
        if let refusal {
            if keepLease { imports.releaseUpload(s.imageID) }
            return .refuse(refusal)
        }
        return .stream(PatchSink(session: s, imports: imports, offset: offset, checksum: checksum))
    }

    func consume(_ bytes: UnsafeRawBufferPointer, later: ConnectionWaker) -> BodyStep {
        consume(bytes) ? .more : .stop
    }

    func complete(later: ConnectionWaker) -> Response? { complete() }

    /// Writes the bytes (on the event loop for a local store, on the PATCH's own thread for an object store:
    /// StorePatch). The sink is written outside the session's lock: a HEAD reads the offset meanwhile, and a
    /// cancel (`ImportManager.stopTransfer`) that comes while it is written leaves the abandon to this call.
    func consume(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let sink: ImportSink? = session.withState { st in
            if st.sink != nil { st.writing = true }
            return st.sink
        }
        guard let sink else {
            failure = ImportFailure(reason: "the upload was cancelled")
            return false
        }
        let f = sink.write(bytes)
        let kept: Bool = session.withState { st in
            st.writing = false
            guard st.sink === sink else { return false }
            if f == nil {
                st.offset += UInt64(bytes.count)
                imports.reportProgress(session.imageID, bytes: st.offset, total: session.length, last: &st.lastReport)
            }
            return true
        }
        guard kept else {
            sink.abandon()
            failure = ImportFailure(reason: "the upload was cancelled")
            return false
        }
        if f == nil { received += UInt64(bytes.count) }
        digest?.update(bytes)
        if let f {
            failure = f
            return false
        }
        return true
    }

    func complete() -> Response {
        if let failure {
            session.withState { $0.busy = false }
            // Partial bytes are removed first, then the failure is recorded (ImportManager.fail).
            imports.fail(session.imageID, reason: failure.reason)
            return TusHandler.answer(Self.status(failure.cause), "import failed: \(failure.reason)")
        }
        if let checksum, let digest, digest.finish() != checksum.expected {
            rollBack()
            return TusHandler.answer(460, "Checksum Mismatch", [("Upload-Offset", String(startOffset))])
        }
        let (offset, finishing, sink): (UInt64, Bool, ImportSink?) = session.withState { st in
            imports.reportProgress(
                session.imageID, bytes: st.offset, total: session.length, last: &st.lastReport, flush: true)
            if st.offset == session.length && !st.finished {
                st.finished = true
                defer { st.sink = nil }
                st.busy = false
                return (st.offset, true, st.sink)
            }
            // An object store keeps the bytes after the last part in memory: they are saved (the tail object and
            // the catalog record) before the upload is released, so the next PATCH continues at this offset on
            // whichever node it reaches (Docs/object-storage.md, "Resume"). Saved outside the lock (below).
            guard st.sink?.pausesBetweenChunks == true else { return (st.offset, false, nil) }
            defer { st.sink = nil }
            return (st.offset, false, st.sink)
        }
        if !finishing {
            // `busy` is still set: no other PATCH of this process reopens the staging before its tail is saved.
            sink?.pause()
            session.withState { st in
                // Between PATCHes nobody holds the upload, so the next one may reach any node. Released before
                // `busy` clears: a PATCH of this process that starts next takes the lease anew.
                imports.releaseUpload(session.imageID)
                st.busy = false
            }
        }
        // The lease stays with this process while it finalizes: no other node may touch the bytes.
        if finishing, let sink { imports.finalizeInBackground(sink, id: session.imageID) }
        return TusHandler.answer(204, nil, [("Upload-Offset", String(offset))])
    }

    /// A refusal is the client's bytes (400); a full disk is the server's (RFC 4918 §11.5: 507 Insufficient
    /// Storage, the status tus servers use for it); any other write error is 500. None of them is resumable:
    /// the import is failed and its partial bytes are gone.
    static func status(_ cause: ImportFailure.Cause) -> Int {
        switch cause {
        case .refused: 400
        case .storageFull: 507
        case .storage: 500
        }
    }

    func abandon() {
        // A chunk whose checksum cannot be verified (cut short) is not kept; without a checksum the bytes
        // that arrived stay, and the client resumes from the offset HEAD reports.
        if checksum != nil {
            rollBack()
        } else {
            session.withState { st in
                imports.releaseUpload(session.imageID)  // before `busy` clears, as in `complete`
                st.busy = false
            }
        }
    }

    /// Drops this PATCH's bytes: the file is cut back and the sink rebuilt from it on the next PATCH. Ends
    /// the PATCH: the upload's lease is released once the file is cut back.
    private func rollBack() {
        let cutBack: Bool = session.withState { st in
            var ok = true
            if let sink = st.sink {
                ok = sink.truncateForRetry(to: startOffset)
                if ok {
                    st.sink = nil  // reopened (re-hashed, re-inspected) from the file on the next PATCH
                    st.offset = startOffset
                }
            }
            imports.releaseUpload(session.imageID)
            st.busy = false
            return ok
        }
        // Bytes that cannot be taken back (an object store already stored them as a part) would stay in the
        // image unchecked by the client's checksum: the upload cannot continue.
        if !cutBack {
            imports.fail(session.imageID, reason: "a rejected chunk could not be taken back; upload the image again")
        }
    }
}

@available(*, unavailable)
extension PatchSink: Sendable {}
