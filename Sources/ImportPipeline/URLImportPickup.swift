//===----------------------------------------------------------------------===//
// ImageGate: the running server picks up URL imports that no live process fetches: those created by
// `imagegate image import --url … --no-wait` (the CLI exits at once) or left by a CLI that was interrupted.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import ImageManagement
import SystemIO
import URLFetcher

/// Once a second the server looks for URL import jobs whose lease is not live and claims them (the same
/// claim as start-up adoption and the import sweep), then fetches them, continuing a staging file an
/// interrupted CLI left. A live lease (a CLI fetching, with its heartbeat) is never taken, so one import is
/// never fetched twice.
package enum URLImportPickup {
    package static func start(imports: ImportManager, logger: Logger, intervalMs: Int32 = 1000) -> PeriodicThread {
        PeriodicThread.start(name: "url-pickup", intervalMs: intervalMs) {
            for id in imports.pickUpUnclaimedURLImports() { logger.info("import \(id): fetch picked up") }
        }
    }
}

extension ImportManager {
    /// Claims and starts every URL import whose lease is not live (ImportLeases.swift: expired, its process
    /// gone, or released by the CLI that created it); returns the ids it started. The claim is the same one-transaction check
    /// the import sweep uses, so a fetch this server or a live CLI runs is never started twice.
    func pickUpUnclaimedURLImports() -> [ImageID] {
        guard let jobs = try? store.importJobs(), jobs.contains(where: { $0.source == .url }) else { return [] }
        let now = service.clock.now()
        var started: [ImageID] = []
        for job in jobs where job.source == .url {
            guard let record = try? store.image(job.imageID), record.status == .uploading,
                claim(job.imageID, now: now)
            else { continue }
            startFetch(job, record: record, resume: true)
            started.append(job.imageID)
        }
        return started
    }

    /// Refuses, at request time, a source URL that could never be fetched (a scheme other than http, https
    /// or ftp, a port outside the allow-list, a malformed address): 400 on the API, the same on the CLI and
    /// console, and no failed image left behind. Checks that need the network (DNS, address ranges) stay with
    /// the fetch.
    func checkSourceURL(_ url: String) throws(GateError) {
        if let refused = URLFetch(url: url, policy: fetchPolicy(cap: nil)).urlFailure {
            throw GateError.invalid("url: \(refused.message)")
        }
    }
}
