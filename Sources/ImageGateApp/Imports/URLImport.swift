//===----------------------------------------------------------------------===//
// ImageGate: URL imports (http, https, ftp) on their own threads, through the SSRF-safe fetcher.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension ImportManager {
    /// Starts (or queues) the fetch of a URL import. Until the fetcher lands, URL imports fail clearly.
    func startFetch(_ job: ImportJob, record: ImageRecord, resume: Bool) {
        fail(record.id, reason: "URL imports are not enabled in this build")
    }
}
