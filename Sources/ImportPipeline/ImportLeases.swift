//===----------------------------------------------------------------------===//
// ImageGate: who owns an import in progress: this process's leases, their heartbeat, and taking over the
// imports whose holder stopped (at start-up and on every sweep of a running server).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import ImageManagement
import Synchronization
import SystemIO

extension ImportManager {
    /// A lease on a new import, held by this process; the heartbeat starts with the first one.
    func newLease() -> ImportLease {
        startHeartbeat()
        return ImportLease(heartbeat: service.clock.now())
    }

    /// Renews every lease this process holds every `ImportLease.heartbeatInterval` seconds, in one statement,
    /// from a thread of its own: a long read, hash or fsync on the import's own thread cannot delay it.
    func startHeartbeat() {
        heartbeat.withLock { thread in
            guard thread == nil else { return }
            thread = PeriodicThread.start(
                name: "lease-heartbeat", intervalMs: Int32(ImportLease.heartbeatInterval * 1000)
            ) { [self] in renewLeases() }
        }
    }

    private func renewLeases() {
        let now = service.clock.now()
        do {
            try store.renewLeases(of: .current, heartbeat: now, expiresAt: now + ImportLease.lifetime)
            if heartbeatFailing.withLock({ was in
                defer { was = false }
                return was
            }) {
                logger.info("import lease heartbeat works again")
            }
        } catch {
            if !heartbeatFailing.withLock({ was in
                defer { was = true }
                return was
            }) {
                logger.warning(
                    "import lease heartbeat failed (imports in progress expire after "
                        + "\(ImportLease.lifetime) s without one): \(error.message)")
            }
        }
    }

    /// Stops the heartbeat (before the catalog closes). Leases still held then expire on their own.
    package func stopHeartbeat() {
        let thread = heartbeat.withLock { $0 }
        thread?.stop()
    }

    // MARK: Taking over

    /// Whether this server can go on with `job` when its holder stopped: a tus upload still within its
    /// expiry (the client resumes with HEAD + PATCH), a URL fetch (resumed from the staging file), a VM
    /// stream. A local file import (`image import --file`) is fed by its process alone.
    static func canContinue(_ job: ImportJob, now: Int64) -> Bool {
        switch job.source {
        case .url, .vm: true
        case .upload: job.uploadID != nil && (job.expiresAt ?? .max) >= now
        }
    }

    /// A tus upload past `imports.upload_ttl`.
    static func isExpiredUpload(_ job: ImportJob, now: Int64) -> Bool {
        job.source == .upload && job.uploadID != nil && (job.expiresAt ?? .max) < now
    }

    /// Why an import nobody can continue failed.
    static func stoppedReason(_ job: ImportJob?, now: Int64) -> String {
        if let job, isExpiredUpload(job, now: now) { return Self.uploadExpiredReason }
        return ImportLease.stoppedReason
    }

    static let uploadExpiredReason = "upload expired before it was complete"

    /// Takes `id` over when its lease is not live (expired, its process gone, or no lease at all); false when
    /// it is live or the import ended meanwhile. The check and the claim are one catalog transaction.
    func claim(_ id: ImageID, now: Int64) -> Bool {
        (try? store.claimLease(id, ImportLease(heartbeat: now), unless: { $0.isLive(now: now) })) == true
    }

    /// At start-up, before recovery: claims the imports this process can continue and whose holder stopped
    /// (a live holder, such as a CLI import running meanwhile, is left alone). Recovery then fails only
    /// imports nobody can finish. Returns the URL jobs to restart once the server is up. Resumable tus uploads
    /// are not claimed: nobody holds them between PATCHes (UploadLeases.swift) and recovery leaves them alone;
    /// `finishCompleteUploads` claims those whose bytes are all there.
    package func adopt() -> [ImportJob] {
        startHeartbeat()
        guard let jobs = try? store.importJobs() else { return [] }
        let now = service.clock.now()
        var fetches: [ImportJob] = []
        for job in jobs {
            guard let record = try? store.image(job.imageID), record.status.isInProgress else {
                try? store.deleteImportJob(image: job.imageID)
                continue
            }
            if job.isResumableUpload(now: now) { continue }
            guard Self.canContinue(job, now: now), claim(job.imageID, now: now) else { continue }
            if job.source == .url { fetches.append(job) }
        }
        return fetches
    }

    /// Restarts the URL fetches `adopt` claimed, resuming from their staging files.
    package func resume(_ jobs: [ImportJob]) {
        for job in jobs {
            guard let record = try? store.image(job.imageID), record.status == .uploading else { continue }
            startFetch(job, record: record, resume: true)
        }
    }

    /// The import part of a running server's periodic sweep (`imports.sweep_interval`):
    /// - an import whose lease is live and held by someone else is never touched;
    /// - a tus upload this server holds that is past `imports.upload_ttl` fails ("upload expired …");
    /// - an import whose holder stopped is taken over: continued when this server can (see `canContinue`),
    ///   else failed with the truthful reason ("the importing process stopped") and its partial bytes removed.
    /// Returns what it saw, for the debug log.
    @discardableResult
    func sweepImports() -> (inProgress: Int, takenOver: Int, failed: Int) {
        let now = service.clock.now()
        // Leases are read before jobs: a new import writes its row with a live lease, then its job, and only
        // then may release the lease (a tus upload); so a released lease read here always has its job in the
        // list read after it, and a fresh upload is never mistaken for one whose owner stopped.
        guard let leases = try? store.leases(), let jobs = try? store.importJobs() else { return (0, 0, 0) }
        let jobOf = Dictionary(jobs.map { ($0.imageID, $0) }, uniquingKeysWith: { first, _ in first })
        let leaseOf = Dictionary(leases, uniquingKeysWith: { first, _ in first })
        let ids = Set(jobOf.keys).union(leaseOf.keys).sorted { $0.description < $1.description }
        var takenOver = 0
        var failed = 0
        for id in ids {
            let job = jobOf[id]
            if let lease = leaseOf[id], lease.holder == .current {
                if let job, Self.isExpiredUpload(job, now: now) {
                    fail(id, reason: Self.uploadExpiredReason)
                    failed += 1
                }
                continue
            }
            if let lease = leaseOf[id], lease.isLive(now: now) { continue }
            if let job, job.isResumableUpload(now: now) {
                // Between PATCHes nobody holds an upload; only one whose bytes all arrived while its finalize
                // stopped (its node was killed) has anything to do, and `finishCompleteUpload` claims it.
                if finishCompleteUpload(job, now: now) { takenOver += 1 }
                continue
            }
            guard claim(id, now: now) else {
                // Not in progress any more (it ended between the two reads): its job has nothing left to do.
                if job != nil, let r = try? store.image(id), !r.status.isInProgress {
                    try? store.deleteImportJob(image: id)
                }
                continue
            }
            let holder = leaseOf[id].map { " (holder \($0.holder))" } ?? ""
            if let job, Self.canContinue(job, now: now) {
                logger.info("import \(id): its importing process stopped\(holder); this server continues it")
                if job.source == .url, let record = try? store.image(id), record.status == .uploading {
                    startFetch(job, record: record, resume: true)
                }
                takenOver += 1
            } else {
                logger.info("import \(id): its importing process stopped\(holder)")
                fail(id, reason: Self.stoppedReason(job, now: now))
                failed += 1
            }
        }
        return (ids.count, takenOver, failed)
    }
}

/// The server's import sweep (`imports.sweep_interval`, first pass at start-up) on a thread of its own.
package enum ImportSweep {
    package static func start(_ imports: ImportManager, intervalSeconds: Int64, logger: Logger) -> PeriodicThread {
        PeriodicThread.start(name: "import-sweep", intervalMs: Int32(clamping: intervalSeconds * 1000)) {
            let seen = imports.sweepImports()
            logger.debug(
                "import sweep: \(seen.inProgress) in progress, \(seen.takenOver) taken over, \(seen.failed) failed")
        }
    }
}
