//===----------------------------------------------------------------------===//
// ImageGate: what a listener serves: the management API under /api/v1/, uploads, the console under
// /console/, downloads everywhere else.
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import ImageManagement
import SystemIO

struct RootHandler: RequestHandler {
    let downloads: DownloadHandler
    let api: ManagementAPI
    let uploads: TusHandler?
    /// The web console's pages under /console/ (Console/ConsoleHandler.swift).
    var console: ConsoleHandler? = nil
    /// Closed (503 for everything) until `serve` has written its run file (StartupGate.swift).
    var gate: StartupGate? = nil
    /// The certificate the download commands fetch and pin, at /ca.crt and /ca.sha256.
    var caCertificate: CACertificateRoute? = nil
    /// /readyz for balancer checks (Operations/OperationsEndpoints.swift); /healthz is the download front's.
    var operations: OperationsEndpoints? = nil

    /// The prefixes with their '/', made once rather than concatenated on every request.
    static let consoleDirectory = ConsoleHandler.prefix + "/"
    static let uploadsDirectory = TusHandler.prefix + "/"

    func respond(to request: Request) -> Response {
        if let gate, !gate.isOpen { return StartupGate.startingResponse }
        // Routed on the path's bytes: a download makes no String of its path here (issue 17).
        let head = request.head
        // Downloads first: no other route starts with /d/, so a download link skips the other prefix checks.
        if head.pathHasPrefix("/d/") { return download(request) }
        if head.pathEquals("/readyz"), let operations {
            let r = operations.readyz()
            // Response.text ends the body with its own line feed.
            return Response.text(r.status, String(r.body.dropLast()), headers: [("Cache-Control", "no-store")])
        }
        if head.pathHasPrefix(ManagementAPI.prefix) || head.pathEquals("/api/v1") {
            return api.respond(to: request)
        }
        if let console, head.pathEquals(ConsoleHandler.prefix) || head.pathHasPrefix(Self.consoleDirectory) {
            return console.respond(to: request)
        }
        if let caCertificate, CACertificateRoute.handles(head) {
            return caCertificate.respond(to: request)
        }
        if let uploads, head.pathEquals(TusHandler.prefix) || head.pathHasPrefix(Self.uploadsDirectory) {
            return uploads.respond(to: request)
        }
        return download(request)
    }

    private func download(_ request: Request) -> Response {
        let response = downloads.respond(to: request)
        // Paired with the access line's count (HTTPMetrics): the difference is imagegate_downloads_active.
        if response.session != nil { Metrics.add(HTTPMetrics.counters(secure: request.secure).downloadsStarted) }
        return response
    }

    /// tus calls may be answered from another thread (an object store: TusHandler); everything else at once.
    func respond(to request: Request, later: ConnectionWaker) -> Response? {
        // On the path's bytes: `head.path` would make a String of every request's path, downloads included.
        let head = request.head
        if let uploads, head.pathEquals(TusHandler.prefix) || head.pathHasPrefix(Self.uploadsDirectory),
            gate?.isOpen ?? true
        {
            return uploads.respond(to: request, later: later)
        }
        return respond(to: request)
    }

    /// Upload bodies (tus PATCH, VM disk content) stream to disk; everything else is small and buffered.
    func bodyHandling(for head: RequestHead, peer: PeerAddress, secure: Bool) -> BodyHandling {
        if let gate, !gate.isOpen { return .refuse(StartupGate.startingResponse) }
        if let uploads, head.pathHasPrefix(Self.uploadsDirectory) {
            return uploads.bodyHandling(for: head, peer: peer, secure: secure)
        }
        if head.method == "PUT", let imports = api.imports, let segs = PathDecoder.segments(head.path),
            segs.count == 5, segs[0] == "api", segs[1] == "v1", segs[2] == "images", segs[4] == "content"
        {
            guard let v = head.header("authorization"), v.hasPrefix("Bearer "),
                let p = api.service.authenticate(apiKey: String(v.dropFirst(7)), source: peer.host)
            else { return .refuse(APIError.unauthorized()) }
            guard let id = ImageID(segs[3]) else { return .refuse(APIError.response(.notFound("no image \(segs[3])"))) }
            return MakingSink.start(imports, p, id, length: head.contentLength, source: peer.host)
        }
        return .buffer
    }

    func loggablePath(_ path: String) -> String { downloads.loggablePath(path) }

    func sessionEnded(_ grant: DownloadGrant, secure: Bool, requests: Int, bytes: UInt64, peer: PeerAddress) {
        downloads.sessionEnded(grant, secure: secure, requests: requests, bytes: bytes, peer: peer)
    }

    func sessionUsage(_ grant: DownloadGrant, secure: Bool, newSession: Bool, bytes: UInt64, peer: PeerAddress) {
        downloads.sessionUsage(grant, secure: secure, newSession: newSession, bytes: bytes, peer: peer)
    }

    /// The download front's open-file cache closes descriptors of deleted blobs even without traffic.
    func tick(nowMs: Int64) { downloads.tick(nowMs: nowMs) }
}
