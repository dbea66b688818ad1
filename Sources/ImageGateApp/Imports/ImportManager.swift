//===----------------------------------------------------------------------===//
// ImageGate: imports in progress: creation, uploads, URL fetches, progress, cancel, finalize, and what a
// restart resumes.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import Dispatch
import Foundation
import GateCore
import ImageCatalog
import ImageInspection
import ImageManagement
import Synchronization
import SystemIO

/// Import settings (the `imports.*` keys).
struct ImportSettings: Sendable {
    var matrix = OSMatrix.builtIn
    var quota = ImportQuota()
    /// URL imports running at once; more wait their turn (status `uploading`, no bytes yet).
    var maxConcurrent = 2
    /// How long an upload session stays resumable.
    var uploadTTL: Int64 = 86_400
    /// Private address ranges URL imports may reach (an internal mirror); empty = none.
    var allowedPrivateRanges: [String] = []
    /// Trust anchors for https sources instead of the system bundle (a private CA); empty = system CAs.
    var caFile = ""
    /// Seconds between background scrubs of every available image's bytes (0: off).
    var verifyInterval: Int64 = 0
    /// Bytes per second the scrub and `image verify` read at most (0: no limit).
    var verifyRate: UInt64 = 64 << 20
}

/// A running transfer that can be stopped.
private struct ActiveImport: Sendable {
    let cancel: @Sendable () -> Void
}

final class ImportManager: Sendable {
    let service: ImageService
    let store: SQLiteCatalogStore
    let blobs: BlobStore
    let settings: ImportSettings
    let logger: Logger
    let secrets: SecretBox
    let pid: Int32 = getpid()
    private let uploads = Mutex<[String: UploadSession]>([:])
    private let active = Mutex<[ImageID: ActiveImport]>([:])
    /// URL imports allowed to fetch at once.
    let slots: DispatchSemaphore

    init(service: ImageService, store: SQLiteCatalogStore, blobs: BlobStore, settings: ImportSettings,
         logger: Logger, secrets: SecretBox) {
        self.service = service
        self.store = store
        self.blobs = blobs
        self.settings = settings
        self.logger = logger
        self.secrets = secrets
        self.slots = DispatchSemaphore(value: max(1, settings.maxConcurrent))
    }

    var lease: ImportLease { ImportLease(pid: pid, heartbeat: service.clock.now()) }

    static func declared(_ format: ImageFormat) -> DeclaredKind {
        switch format {
        case .qcow2: .qcow2
        case .iso: .iso
        case .raw: .raw
        }
    }

    // MARK: Creating

    /// Creates the image (`uploading`/`making`) and its job. Uploads answer with their tus URL path; URL
    /// imports start fetching (or queue).
    func create(_ p: Principal, _ request: ImportRequest, source: String) throws(GateError)
        -> (ImageRecord, uploadPath: String?)
    {
        let record = try service.createImport(
            p, request, matrix: settings.matrix, quota: settings.quota, lease: lease, source: source)
        let now = service.clock.now()
        var job = ImportJob(
            imageID: record.id, source: .upload, declared: record.format.rawValue,
            expectedSHA256: request.expectedSHA256, encrypted: request.encrypted, createdAt: now)
        switch request.source {
        case .upload(let size):
            job.totalSize = size
            job.uploadID = Hex.encode(Crypto.randomBytes(16))
            job.expiresAt = now + settings.uploadTTL
        case .url(let url):
            job.source = .url
            job.sealedURL = Hex.encode(secrets.seal(Array(url.utf8)))
            job.displayURL = ImportRequest.redactedURL(url)
        case .vm:
            job.source = .vm
        }
        do {
            try store.saveImportJob(job)
        } catch {
            service.failImport(record.id, reason: "could not record the import: \(error.message)")
            throw error
        }
        if case .url = request.source { startFetch(job, record: record, resume: false) }
        return (record, job.uploadID.map { "/uploads/\($0)" })
    }

    // MARK: Ending

    /// "Cancel upload": stops the transfer now, removes partial bytes, image `failed` with reason `cancelled`.
    func cancel(_ p: Principal, _ id: ImageID, source: String) throws(GateError) -> ImageRecord {
        let record = try service.cancelImport(p, id, source: source)
        stopTransfer(id)
        return record
    }

    /// Stops whatever moves bytes for `id` and removes its job and staging files.
    func stopTransfer(_ id: ImageID) {
        if let a = active.withLock({ $0.removeValue(forKey: id) }) { a.cancel() }
        let session = uploads.withLock { map in
            let s = map.first { $0.value.imageID == id }?.value
            if let s { map[s.uploadID] = nil }
            return s
        }
        session?.withState { st in
            st.sink?.abandon()
            st.sink = nil
            st.finished = true
        }
        try? store.deleteImportJob(image: id)
        for path in blobs.stagingFiles() where BlobStore.imageID(ofStagingPath: path) == id { blobs.removeStaging(path) }
    }

    /// Fails the import for `reason` (removing partial bytes).
    func fail(_ id: ImageID, reason: String) {
        service.failImport(id, reason: reason)
        stopTransfer(id)
        logger.info("import \(id) failed: \(reason)")
    }

    /// Finalizes a complete sink on its own thread (fsync of a multi-GB file must not stall an event loop);
    /// the image stays `uploading` until the bytes are durable and then becomes `available` (or `failed`).
    func finalizeInBackground(_ sink: ImportSink, id: ImageID) {
        let box = SinkBox(sink)
        _ = OSThread.spawn(name: "import-final") { [self] in
            let result = box.take().finish()
            switch result {
            case .success(let b):
                do {
                    _ = try service.finishImport(
                        id, size: b.size, sha256: b.sha256, virtualSize: b.virtualSize, format: b.format,
                        encrypted: b.encrypted)
                    try? store.deleteImportJob(image: id)
                    uploads.withLock { map in map = map.filter { $0.value.imageID != id } }
                    logger.info("import \(id) available: \(b.size) bytes, sha256 \(b.sha256)")
                } catch {
                    // Cancelled or failed meanwhile: the bytes must not stay.
                    blobs.remove(id)
                    try? store.deleteImportJob(image: id)
                }
            case .failure(let f):
                fail(id, reason: f.reason)
            }
        }
    }

    // MARK: Progress

    /// Writes progress to the catalog at most once a second, with the rate over that second.
    func reportProgress(_ id: ImageID, bytes: UInt64, total: UInt64?, last: inout (ms: Int64, bytes: UInt64)) {
        let now = Monotonic.milliseconds()
        guard now - last.ms >= 1000 || (total != nil && bytes == total) else { return }
        let rate = last.ms == 0 ? nil : Double(bytes &- last.bytes) * 1000 / Double(max(1, now - last.ms))
        last = (now, bytes)
        service.importProgress(id, bytes: bytes, total: total, rate: rate)
    }

    // MARK: Restart

    /// At start-up, before recovery: claims the imports this process can continue (uploads still within their
    /// expiry, URL fetches, VM streams) by taking their leases; recovery then fails only true orphans.
    /// Returns the URL jobs to restart once the server is up.
    func adopt() -> [ImportJob] {
        guard let jobs = try? store.importJobs() else { return [] }
        let now = service.clock.now()
        var fetches: [ImportJob] = []
        for job in jobs {
            guard let record = try? store.image(job.imageID), record.status == .uploading || record.status == .making
            else {
                try? store.deleteImportJob(image: job.imageID)
                continue
            }
            switch job.source {
            case .upload where (job.expiresAt ?? .max) < now: continue  // expired: recovery fails it
            case .url: fetches.append(job)
            default: break
            }
            try? store.setLease(job.imageID, pid: pid, heartbeat: now)
        }
        return fetches
    }

    /// Restarts the URL fetches `adopt` claimed, resuming from their staging files.
    func resume(_ jobs: [ImportJob]) {
        for job in jobs {
            guard let record = try? store.image(job.imageID), record.status == .uploading else { continue }
            startFetch(job, record: record, resume: true)
        }
    }

    // MARK: Uploads

    /// The live session for an upload id (rebuilt from the catalog after a restart), if it may still be used.
    func uploadSession(_ uploadID: String) -> UploadSession? {
        if let s = uploads.withLock({ $0[uploadID] }) { return s }
        guard let job = try? store.importJob(upload: uploadID), job.source == .upload,
            let record = try? store.image(job.imageID), record.status == .uploading
        else { return nil }
        let staged = blobs.stagingFiles().first { BlobStore.imageID(ofStagingPath: $0) == job.imageID }
        let offset = staged.flatMap { FileSystemInfo.size($0) } ?? 0
        let session = UploadSession(job: job, tenant: record.tenant, offset: offset)
        return uploads.withLock { map in
            if let existing = map[uploadID] { return existing }
            map[uploadID] = session
            return session
        }
    }

    /// The sink of a session, created or reopened from its staging file.
    func sink(for s: UploadSession, state: inout UploadSession.State) throws(GateError) -> ImportSink {
        if let sink = state.sink { return sink }
        let cap = try service.remainingQuota(s.tenant, settings.quota, excluding: s.imageID)
        let declared = DeclaredKind(rawValue: s.job.declared) ?? .raw
        let sink: ImportSink
        if let path = blobs.stagingFiles().first(where: { BlobStore.imageID(ofStagingPath: $0) == s.imageID }) {
            sink = try ImportSink.reopen(
                s.imageID, path: path, blobs: blobs, declared: declared, encrypted: s.job.encrypted, cap: cap,
                expectedSHA256: s.job.expectedSHA256)
        } else {
            sink = try ImportSink.create(
                s.imageID, blobs: blobs, declared: declared, encrypted: s.job.encrypted, cap: cap,
                expectedSHA256: s.job.expectedSHA256)
        }
        state.sink = sink
        state.offset = sink.bytes
        return sink
    }

    /// Upload sessions past their expiry: the import fails ("upload expired").
    func sweepExpiredUploads() {
        let now = service.clock.now()
        guard let jobs = try? store.importJobs() else { return }
        for job in jobs where job.source == .upload && (job.expiresAt ?? .max) < now {
            fail(job.imageID, reason: "upload expired before it was complete")
        }
    }

    func register(_ id: ImageID, cancel: @escaping @Sendable () -> Void) {
        active.withLock { $0[id] = ActiveImport(cancel: cancel) }
    }

    func unregister(_ id: ImageID) {
        active.withLock { _ = $0.removeValue(forKey: id) }
    }
}

/// Moves a confined sink to the thread that finalizes it (handed over exactly once).
final class SinkBox: @unchecked Sendable {
    // @unchecked: the sink is written once here and taken once by the finalizing thread.
    private var sink: ImportSink?
    init(_ sink: ImportSink) { self.sink = sink }
    func take() -> ImportSink {
        defer { sink = nil }
        return sink!
    }
}

enum FileSystemInfo {
    static func size(_ path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return UInt64(st.st_size)
    }
}
