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
package struct ImportSettings: Sendable {
    package var matrix = OSMatrix.builtIn
    package var quota = ImportQuota()
    /// URL imports running at once; more wait their turn (status `uploading`, no bytes yet).
    package var maxConcurrent = 2
    /// How long an upload session stays resumable.
    package var uploadTTL: Int64 = 86_400
    /// Private address ranges URL imports may reach (an internal mirror); empty = none.
    package var allowedPrivateRanges: [String] = []
    /// Trust anchors for https sources instead of the system bundle (a private CA); empty = system CAs.
    package var caFile = ""
    /// How often (seconds) the server looks for imports whose process stopped and uploads past their TTL.
    package var sweepInterval: Int64 = 60
    /// Seconds between background scrubs of every available image's bytes (0: off).
    package var verifyInterval: Int64 = 0
    /// Bytes per second the scrub and `image verify` read at most (0: no limit).
    package var verifyRate: UInt64 = 64 << 20

    package init() {}
}

/// A running transfer that can be stopped.
private struct ActiveImport: Sendable {
    let cancel: @Sendable () -> Void
}

package final class ImportManager: Sendable {
    package let service: ImageService
    package let store: any CatalogStore
    package let blobs: any BlobStorage
    package let settings: ImportSettings
    let logger: Logger
    let secrets: SecretBox
    private let uploads = Mutex<[String: UploadSession]>([:])
    /// Uploads completed since start, upload id → (image, length): a tus HEAD for one answers with the final
    /// offset, so a client that lost the last PATCH reply can confirm completion. Bounded; lost on restart.
    private let completedUploads = Mutex<[String: (ImageID, UInt64)]>([:])
    private let active = Mutex<[ImageID: ActiveImport]>([:])
    /// URL imports allowed to fetch at once.
    let slots: DispatchSemaphore
    /// Renews this process's import leases (started with the first lease it takes).
    let heartbeat = Mutex<PeriodicThread?>(nil)
    /// Whether the last heartbeat failed, so trouble is logged once and not every 5 s.
    let heartbeatFailing = Mutex(false)

    package init(
        service: ImageService, store: any CatalogStore, blobs: any BlobStorage, settings: ImportSettings,
        logger: Logger, secrets: SecretBox
    ) {
        self.service = service
        self.store = store
        self.blobs = blobs
        self.settings = settings
        self.logger = logger
        self.secrets = secrets
        self.slots = DispatchSemaphore(value: max(1, settings.maxConcurrent))
    }

    package static func declared(_ format: ImageFormat) -> DeclaredKind {
        switch format {
        case .qcow2: .qcow2
        case .iso: .iso
        case .raw: .raw
        }
    }

    // MARK: Creating

    /// Creates the image (`uploading`/`making`), held by this process's lease, and its job. Uploads answer
    /// with their tus URL path (and are released for their first PATCH, on any node); URL imports start
    /// fetching (or queue) in this process, or with `fetchHere` false are released for a server node to pick
    /// up (URLImportPickup), since this process is about to exit or is a CLI on a shared catalog. A `localFile` upload is fed by this process alone (`image import --file`): it gets no tus
    /// URL and no expiry, and nobody else can resume it.
    package func create(
        _ p: Principal, _ request: ImportRequest, source: String, localFile: Bool = false, fetchHere: Bool = true
    ) throws(GateError)
        -> (ImageRecord, uploadPath: String?)
    {
        if case .url(let url) = request.source { try checkSourceURL(url) }
        // Always created with this process's live lease: an import left to others (below) is released only
        // once its job exists, so no node ever sees a row nobody holds and without a job (and fails it).
        let record = try service.createImport(
            p, request, matrix: settings.matrix, quota: settings.quota, lease: newLease(), source: source)
        let now = service.clock.now()
        var job = ImportJob(
            imageID: record.id, source: .upload, declared: record.format.rawValue,
            expectedSHA256: request.expectedSHA256, encrypted: request.encrypted, createdAt: now,
            detectFormat: request.detectFormat)
        switch request.source {
        case .upload(let size):
            job.totalSize = size
            if !localFile {
                job.uploadID = Hex.encode(Crypto.randomBytes(16))
                job.expiresAt = now + settings.uploadTTL
            }
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
        if case .url = request.source {
            // Fetched here, or left for a server node to pick up (URLImportPickup), which may claim it at once.
            if fetchHere { startFetch(job, record: record, resume: false) } else { releaseUpload(record.id) }
        }
        // A tus upload is held only while a PATCH or its finalize runs (UploadLeases.swift): the first PATCH
        // may reach any node.
        if job.uploadID != nil { releaseUpload(record.id) }
        return (record, job.uploadID.map { "/uploads/\($0)" })
    }

    // MARK: Ending

    /// "Cancel upload": stops the transfer now, removes partial bytes, image `failed` with reason `cancelled`.
    package func cancel(_ p: Principal, _ id: ImageID, source: String) throws(GateError) -> ImageRecord {
        let record = try service.cancelImport(p, id, source: source)
        stopTransfer(id)
        try? store.deleteImportJob(image: id)
        return record
    }

    /// Stops whatever moves bytes for `id` and removes its staging files (the job stays: it goes once the
    /// outcome is recorded).
    func stopTransfer(_ id: ImageID) {
        if let a = active.withLock({ $0.removeValue(forKey: id) }) { a.cancel() }
        let session = uploads.withLock { map in
            let s = map.first { $0.value.imageID == id }?.value
            if let s { map[s.uploadID] = nil }
            return s
        }
        session?.withState { st in
            if !st.writing { st.sink?.abandon() }
            st.sink = nil
            st.finished = true
        }
        for staged in blobs.stagedBlobs(of: id) { blobs.removeStaging(staged) }
    }

    /// Fails the import for `reason`. The partial bytes go first: when the disk is full (the likely reason
    /// an import failed), the catalog shares it and can record the failure only once they are freed. The
    /// job goes last, once the failure is recorded, so a crash in between still finds the import.
    package func fail(_ id: ImageID, reason: String) {
        stopTransfer(id)
        logger.info("import \(id) failed: \(reason)")
        if service.failImport(id, reason: reason) {
            try? store.deleteImportJob(image: id)
            return
        }
        // The catalog could not be written (full, busy): retry from a thread of its own, so the caller (an
        // event loop, for a tus PATCH) never waits. Until it succeeds the lease stays ours and the image
        // shows `uploading`; a restart records the failure as "the importing process stopped".
        _ = OSThread.spawn(name: "import-fail") { [self] in
            for _ in 0..<Self.failureRetries {
                usleep(Self.failureRetryDelayUs)
                if service.failImport(id, reason: reason) {
                    try? store.deleteImportJob(image: id)
                    return
                }
            }
            logger.error("import \(id): could not record its failure (\(reason)) in the catalog")
        }
    }

    static let failureRetries = 60
    static let failureRetryDelayUs: UInt32 = 500_000

    /// Finalizes a complete sink on its own thread (fsync of a multi-GB file must not stall an event loop);
    /// the image stays `uploading` until the bytes are durable and then becomes `available` (or `failed`).
    package func finalizeInBackground(_ sink: ImportSink, id: ImageID) {
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
                    let done = uploads.withLock { map in
                        let gone = map.filter { $0.value.imageID == id }
                        map = map.filter { $0.value.imageID != id }
                        return gone
                    }
                    completedUploads.withLock { c in
                        if c.count >= 4096 { c.removeAll(keepingCapacity: true) }
                        for (uploadID, s) in done { c[uploadID] = (id, s.length) }
                    }
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

    /// Writes progress to the catalog at most once a second, with the rate over the last seconds
    /// (`ProgressWindow`). `flush` writes at once: at the end of a PATCH, so a client that stops between
    /// chunks leaves the catalog with every byte it sent, not those of the last whole second.
    package func reportProgress(
        _ id: ImageID, bytes: UInt64, total: UInt64?, last: inout ProgressWindow, flush: Bool = false
    ) {
        let now = Monotonic.milliseconds()
        guard last.due(now, final: flush || (total != nil && bytes == total)) else { return }
        let rate = last.add(now, bytes: bytes)
        service.importProgress(id, bytes: bytes, total: total, rate: rate)
    }

    // MARK: Uploads

    /// The session for an upload id, if it may still be used. The catalog decides (job and `uploading` row),
    /// not this process's memory: another node may have finished or failed the upload since this one last saw
    /// it. A cached session not busy here takes its offset from the staging file, which the nodes share: the
    /// bytes another node's PATCH wrote count.
    package func uploadSession(_ uploadID: String) -> UploadSession? {
        guard let job = try? store.importJob(upload: uploadID), job.source == .upload,
            let record = try? store.image(job.imageID), record.status == .uploading
        else {
            uploads.withLock { _ = $0.removeValue(forKey: uploadID) }
            return nil
        }
        if let s = uploads.withLock({ $0[uploadID] }) {
            let staged = stagedSize(s.imageID)
            s.withState { st in
                guard !st.busy, !st.finished, staged ?? 0 != st.offset else { return }
                st.sink = nil  // another node wrote meanwhile: reopened from the file by the next PATCH here
                st.offset = staged ?? 0
            }
            return s
        }
        let session = UploadSession(job: job, tenant: record.tenant, offset: stagedSize(job.imageID) ?? 0)
        return uploads.withLock { map in
            if let existing = map[uploadID] { return existing }
            map[uploadID] = session
            return session
        }
    }

    /// The size of `id`'s staging file, nil when it has none.
    package func stagedSize(_ id: ImageID) -> UInt64? {
        blobs.stagedBlobs(of: id).first.flatMap { blobs.stagedSize($0) }
    }

    /// The image and length of an upload that completed since start (see `completedUploads`).
    package func completedUpload(_ uploadID: String) -> (ImageID, UInt64)? {
        completedUploads.withLock { $0[uploadID] }
    }

    /// The sink of a session, created or reopened from its staging file.
    package func sink(for s: UploadSession, state: inout UploadSession.State) throws(GateError) -> ImportSink {
        if let sink = state.sink { return sink }
        let sink = try makeSink(for: s)
        state.sink = sink
        state.offset = sink.bytes
        return sink
    }

    /// A new sink for a session, on its staging object if there is one (reopened and re-checked) or a new one.
    /// Waits on the store (an object store's listing, the tail read back): the caller holds no lock.
    package func makeSink(for s: UploadSession) throws(GateError) -> ImportSink {
        let cap = try service.remainingQuota(s.tenant, settings.quota, excluding: s.imageID)
        let declared = DeclaredKind(rawValue: s.job.declared) ?? .raw
        guard let record = try store.image(s.imageID), record.status == .uploading else {
            throw GateError.conflict("upload \(s.uploadID) is no longer in progress")
        }
        let sink: ImportSink
        if let staged = blobs.stagedBlobs(of: s.imageID).first {
            sink = try ImportSink.reopen(
                record, staged: staged, blobs: blobs, declared: declared,
                detection: s.job.detectFormat, encrypted: s.job.encrypted, cap: cap,
                expectedSHA256: s.job.expectedSHA256)
        } else {
            sink = try ImportSink.create(
                record, blobs: blobs, declared: declared,
                detection: s.job.detectFormat, encrypted: s.job.encrypted, cap: cap,
                expectedSHA256: s.job.expectedSHA256)
        }
        return sink
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
