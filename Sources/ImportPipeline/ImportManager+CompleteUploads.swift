//===----------------------------------------------------------------------===//
// ImageGate: uploads whose last byte arrived before the server stopped but whose finalize never committed.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import ImageManagement
import SystemIO

extension ImportManager {
    /// At start-up, after `adopt` took the leases and recovery ran: finishes every unexpired upload whose bytes
    /// are all staged. The server was killed between the final PATCH and the catalog commit (while the
    /// background finalize hashed, synced or renamed), so the client has its `204` and will never send
    /// another byte: without this, the image would stay `uploading` until the upload expires. The import sweep
    /// does the same on a running node for uploads whose finalizing node stopped.
    package func finishCompleteUploads() {
        guard let jobs = try? store.importJobs() else { return }
        let now = service.clock.now()
        for job in jobs where job.source == .upload { _ = finishCompleteUpload(job, now: now) }
    }

    /// Finishes one complete, unexpired upload that nobody holds: claims its lease first (so of several nodes
    /// exactly one finalizes it, and never while another node's PATCH or finalize runs), then re-reads the
    /// staged bytes through the hash and the inspector like any resumed upload. A blob the stopped finalize had
    /// already renamed into `blobs/` goes back to staging first, so nothing unverified becomes available.
    /// Returns whether it started; an upload still waiting for bytes is released again untouched.
    func finishCompleteUpload(_ job: ImportJob, now: Int64) -> Bool {
        let id = job.imageID
        guard let uploadID = job.uploadID, let total = job.totalSize, total > 0, (job.expiresAt ?? .max) >= now,
            let record = try? store.image(id), record.status == .uploading
        else { return false }
        let staged = stagedSize(id)
        // Cheap check before claiming: only a complete upload (all bytes staged, or renamed into blobs/ by a
        // finalize that never committed) has anything left to do without its client.
        guard staged == total || (staged == nil && blobs.blobSize(id) == total) else { return false }
        guard claimUpload(id) == .claimed else { return false }
        if staged == nil, blobs.blobSize(id) != nil {
            do throws(GateError) {
                _ = try blobs.returnToStaging(id)
            } catch {
                logger.warning("upload \(id): \(error.message)")
                releaseUpload(id)
                return false
            }
        }
        guard let session = uploadSession(uploadID) else { return false }
        let claimed = session.withState { st in
            guard !st.finished, !st.busy, st.offset == session.length else { return false }
            st.finished = true  // no PATCH may write to it from now on
            return true
        }
        guard claimed else {
            releaseUpload(id)
            return false
        }
        logger.info("upload \(id) was complete when its node stopped finalizing it: finishing it")
        // Re-reading the staged bytes takes as long as the upload is large: not on the start-up path.
        _ = OSThread.spawn(name: "import-finish") { [self] in
            let reopened: Result<ImportSink, GateError> = session.withState { st in
                do throws(GateError) {
                    let sink = try sink(for: session, state: &st)
                    st.sink = nil
                    return .success(sink)
                } catch {
                    return .failure(error)
                }
            }
            switch reopened {
            case .success(let sink): finalizeInBackground(sink, id: id)
            case .failure(let error): fail(id, reason: error.message)
            }
        }
        return true
    }
}
