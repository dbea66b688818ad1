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
    /// another byte: without this, the image would stay `uploading` until the upload expires. A blob the
    /// finalize had already renamed into `blobs/` goes back to staging first, so the bytes are re-read through
    /// the hash and the inspector like any resumed upload and nothing unverified becomes available.
    func finishCompleteUploads() {
        guard let jobs = try? store.importJobs() else { return }
        let now = service.clock.now()
        for job in jobs where job.source == .upload {
            let id = job.imageID
            guard let uploadID = job.uploadID, let total = job.totalSize, total > 0, (job.expiresAt ?? .max) >= now,
                let record = try? store.image(id), record.status == .uploading
            else { continue }
            let staged = !blobs.stagedBlobs(of: id).isEmpty
            if !staged, blobs.blobSize(id) != nil {
                do throws(GateError) {
                    _ = try blobs.returnToStaging(id)
                } catch {
                    logger.warning("upload \(id): \(error.message)")
                    continue
                }
            }
            guard let session = uploadSession(uploadID) else { continue }
            let claimed = session.withState { st in
                guard !st.finished, !st.busy, st.offset == session.length else { return false }
                st.finished = true  // no PATCH may write to it from now on
                return true
            }
            guard claimed else { continue }
            logger.info("upload \(id) was complete when the server stopped: finishing it")
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
        }
    }
}
