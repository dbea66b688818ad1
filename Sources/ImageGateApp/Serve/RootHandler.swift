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

    func respond(to request: Request) -> Response {
        let path = request.head.path
        if path.hasPrefix(ManagementAPI.prefix) || path == "/api/v1" {
            return api.respond(to: request)
        }
        if let console, path == ConsoleHandler.prefix || path.hasPrefix(ConsoleHandler.prefix + "/") {
            return console.respond(to: request)
        }
        if let uploads, path == TusHandler.prefix || path.hasPrefix(TusHandler.prefix + "/") {
            return uploads.respond(to: request)
        }
        return downloads.respond(to: request)
    }

    /// Upload bodies (tus PATCH, VM disk content) stream to disk; everything else is small and buffered.
    func bodyHandling(for head: RequestHead, peer: PeerAddress, secure: Bool) -> BodyHandling {
        if let uploads, head.path.hasPrefix(TusHandler.prefix + "/") {
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

    func sessionEnded(key: String, requests: Int, bytes: UInt64, peer: PeerAddress) {
        downloads.sessionEnded(key: key, requests: requests, bytes: bytes, peer: peer)
    }

    /// The download front's open-file cache closes descriptors of deleted blobs even without traffic.
    func tick(nowMs: Int64) { downloads.tick(nowMs: nowMs) }
}
