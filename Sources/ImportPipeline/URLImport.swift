//===----------------------------------------------------------------------===//
// ImageGate: URL imports (http, https, ftp) on their own threads, through the SSRF-safe fetcher.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Dispatch
import GateCore
import ImageCatalog
import ImageManagement
import SystemIO
import URLFetcher

extension ImportManager {
    /// The fetch policy of every URL import: Docs/protocols.md §4.1 defences, the admin allow-list, and the cap
    /// (single-import limit and tenant quota) enforced at the first byte over.
    func fetchPolicy(cap: UInt64?) -> FetchPolicy {
        var policy = FetchPolicy()
        policy.allowedPrivateRanges = settings.allowedPrivateRanges.compactMap { AddressRange(cidr: $0) }
        policy.maxBytes = cap
        policy.caFile = settings.caFile.isEmpty ? nil : settings.caFile
        return policy
    }

    /// Starts (or queues, `imports.max_concurrent`) the fetch of a URL import on its own thread. `resume`
    /// continues the staging file of an earlier attempt (after a restart) with Range / REST.
    func startFetch(_ job: ImportJob, record: ImageRecord, resume: Bool) {
        guard let sealed = job.sealedURL.flatMap(Hex.decode), let plain = secrets.open(sealed),
            let url = String(validating: plain, as: UTF8.self)
        else {
            fail(record.id, reason: "the source URL of this import cannot be read back")
            return
        }
        let cap: UInt64?
        do {
            cap = try service.remainingQuota(record.tenant, settings.quota, excluding: record.id)
        } catch {
            fail(record.id, reason: error.message)
            return
        }
        let fetch = URLFetch(url: url, policy: fetchPolicy(cap: cap))
        if let refused = fetch.urlFailure {
            fail(record.id, reason: refused.message)  // refused before any connection
            return
        }
        register(record.id) { fetch.cancel() }
        let slots = self.slots
        _ = OSThread.spawn(name: "url-import") { [self] in
            slots.wait()
            defer {
                slots.signal()
                unregister(record.id)
            }
            guard !fetch.isCancelled else { return }
            run(fetch, job: job, record: record, cap: cap, resume: resume)
        }
    }

    private func run(_ fetch: URLFetch, job: ImportJob, record: ImageRecord, cap: UInt64?, resume: Bool) {
        let declared = ImportManager.declared(record.format)
        let staged = resume ? blobs.stagedBlobs(of: record.id).first : nil
        let sink: ImportSink
        do {
            if let staged {
                sink = try ImportSink.reopen(
                    record, staged: staged, blobs: blobs, declared: declared,
                    detection: job.detectFormat, encrypted: job.encrypted, cap: cap,
                    expectedSHA256: job.expectedSHA256)
            } else {
                sink = try ImportSink.create(
                    record, blobs: blobs, declared: declared,
                    detection: job.detectFormat, encrypted: job.encrypted, cap: cap,
                    expectedSHA256: job.expectedSHA256)
            }
        } catch {
            fail(record.id, reason: error.message)
            return
        }
        var last = ProgressWindow()
        var recordedTotal = job.totalSize
        let resumeFrom = sink.bytes
        let pipeline = PipelinedSink(sink)
        let result = fetch.run(
            resumeFrom: resumeFrom, validator: staged == nil ? nil : job.validator,
            expectedTotal: staged == nil ? nil : job.totalSize,
            sink: { buffer in pipeline.write(buffer) },
            progress: { [self] bytes, total in
                if let total, recordedTotal != total {
                    // Remember the source's size for a resume after a restart.
                    recordedTotal = total
                    var j = job
                    j.totalSize = total
                    try? store.saveImportJob(j)
                }
                reportProgress(record.id, bytes: bytes, total: total, last: &last)
            })
        let (_, failure) = pipeline.close()
        switch result {
        case .failure(let f):
            if f.code == "cancelled" {
                sink.abandon()  // the image is already `failed` with reason `cancelled`
                return
            }
            sink.abandon()
            if let detail = f.logDetail { logger.warning("import \(record.id): \(f.message): \(detail)") }
            fail(record.id, reason: failure?.reason ?? Self.reason(f.message, url: fetch.redactedURL))
        case .success(let fetched):
            if let failure {
                sink.abandon()
                fail(record.id, reason: failure.reason)
                return
            }
            if let validator = fetched.validator {
                var j = job
                j.validator = validator
                j.totalSize = fetched.totalSize ?? recordedTotal
                try? store.saveImportJob(j)
            }
            switch sink.finish() {
            case .failure(let f): fail(record.id, reason: f.reason)
            case .success(let b):
                do {
                    _ = try service.finishImport(
                        record.id, size: b.size, sha256: b.sha256, virtualSize: b.virtualSize, format: b.format,
                        encrypted: b.encrypted)
                    try? store.deleteImportJob(image: record.id)
                    logger.info("import \(record.id) from \(fetch.redactedURL) available: \(b.size) bytes")
                } catch {
                    blobs.remove(record.id)
                    try? store.deleteImportJob(image: record.id)
                }
            }
        }
    }

    /// A failure reason names the source once: most fetcher messages already end with the (redacted) URL.
    static func reason(_ message: String, url: String) -> String {
        message.contains(url) ? message : "\(message) (\(url))"
    }
}
