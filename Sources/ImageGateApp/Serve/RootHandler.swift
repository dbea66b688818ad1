//===----------------------------------------------------------------------===//
// ImageGate: what a listener serves: the management API under /api/v1/, downloads everywhere else.
//===----------------------------------------------------------------------===//
import HTTPServer

struct RootHandler: RequestHandler {
    let downloads: DownloadHandler
    let api: ManagementAPI

    func respond(to request: Request) -> Response {
        if request.head.path.hasPrefix(ManagementAPI.prefix) || request.head.path == "/api/v1" {
            return api.respond(to: request)
        }
        return downloads.respond(to: request)
    }

    func loggablePath(_ path: String) -> String { downloads.loggablePath(path) }
}
