//===----------------------------------------------------------------------===//
// ImageGate: `image watch`: follow an import, say who moves its bytes, and give up when nothing moves.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import ImageCatalog

/// Polls the catalog five times a second. Before waiting it says on standard error what it waits for (the
/// process that fetches or receives the bytes, or that none does); when the import has made no progress for
/// `stallTimeout` seconds (0: never) it stops with an error naming the state it was left in.
struct ImportWatch {
    /// `image watch` without --timeout.
    static let defaultTimeout: Int64 = 600

    let data: DataDirectory
    let id: ImageID
    let quiet: Bool
    let stallTimeout: Int64
    /// Say who moves the bytes before waiting (not when this process moves them itself).
    var announce = true

    func run() throws(GateError) -> ImageRecord {
        let progress = quiet ? nil : ProgressPrinter()
        var said = false
        var lastBytes: UInt64 = .max
        var lastMove = Monotonic.milliseconds()
        while true {
            guard let r = try data.store.image(id) else { throw GateError.notFound("no image \(id)") }
            guard r.status == .uploading || r.status == .making else {
                progress?.done()
                if r.status == .failed { printError("import failed: \(r.failureReason ?? "unknown reason")") }
                return r
            }
            if !said && announce {
                printError(
                    "waiting for \(id) (\(r.status.rawValue), \(Output.humanSize(r.progressBytes)) so far): "
                        + (try holder()))
                said = true
            }
            let now = Monotonic.milliseconds()
            if r.progressBytes != lastBytes {
                lastBytes = r.progressBytes
                lastMove = now
            } else if stallTimeout > 0, now - lastMove >= stallTimeout * 1000 {
                progress?.done()
                throw GateError.io(
                    "gave up after \(DurationText.format(stallTimeout)) without progress: \(id) is still "
                        + "\(r.status.rawValue) at \(Output.humanSize(r.progressBytes)); \(try holder()) "
                        + "(wait longer with --timeout, 0 = for ever)")
            }
            progress?.update(r.progressBytes, total: r.progressTotal)
            usleep(200_000)
        }
    }

    /// Who moves the bytes: the process holding the import's lease, the server that will pick it up, or nobody.
    func holder() throws(GateError) -> String {
        let server = RunFile.read(data.settings.runFile)
        let lease = try data.store.leases().first { $0.0 == id }?.1
        if let lease, lease.isLive(now: data.clock.now()) {
            let pid = lease.holder.pid
            if lease.holder.node != LeaseHolder.localNode {
                return "node \(lease.holder.node) (pid \(pid)) is moving its bytes"
            }
            return pid == server?.pid
                ? "the server (pid \(pid)) is moving its bytes" : "process \(pid) is moving its bytes"
        }
        if data.isClustered {
            return "no node holds it yet; a server node of this catalog picks URL imports up within seconds "
                + "(a stopped node's import once its lease expired, 30 s after its last heartbeat), an upload "
                + "waits for its client to send the rest"
        }
        if let server {
            return "no process holds it yet; the running server (pid \(server.pid)) picks URL imports up within "
                + "seconds, an upload waits for its client to send the rest"
        }
        return "no process is moving its bytes and no server is running on \(data.settings.dataDir) "
            + "(start 'imagegate serve': it continues URL imports)"
    }
}
