//===----------------------------------------------------------------------===//
// ImageGate: HTTP answers "starting" until the server's run file is written.
//===----------------------------------------------------------------------===//
import HTTPServer
import Synchronization

/// The HTTP listener starts accepting before the other listeners are bound, and their ports (port 0 picks
/// one) are only known then. Until `serve` has written its run file, every HTTP request (so `/healthz`
/// too) gets `503` with `Retry-After: 1`: whoever waits for `/healthz` to answer 200 and then runs a CLI
/// command (`link mint` reads the run file) sees the real addresses, never the configured defaults.
final class StartupGate: Sendable {
    private let ready = Atomic<Bool>(false)

    var isOpen: Bool { ready.load(ordering: .acquiring) }

    /// Called once the run file is on disk.
    func open() { ready.store(true, ordering: .releasing) }

    static var startingResponse: Response {
        var r = Response.text(
            503, "Service Unavailable: starting", headers: [("Retry-After", "1"), ("Cache-Control", "no-store")])
        r.note = "starting"
        return r
    }
}
