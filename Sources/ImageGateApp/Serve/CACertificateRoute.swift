//===----------------------------------------------------------------------===//
// ImageGate: GET /ca.crt and /ca.sha256 on the HTTP and HTTPS fronts: the certificate the ready download
// commands fetch and pin (Docs/links.md "Trusting the server's certificate").
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import Synchronization

/// Holds the served certificate: read at start-up and again on SIGHUP (when the TLS certificate is reloaded),
/// so requests never touch the file system.
final class CACertificateRoute: Sendable {
    private let current: Mutex<CACertificate?>

    init(_ certificate: CACertificate?) { current = Mutex(certificate) }

    func replace(with certificate: CACertificate?) { current.withLock { $0 = certificate } }

    var certificate: CACertificate? { current.withLock { $0 } }

    static func handles(_ head: RequestHead) -> Bool {
        head.pathEquals(CACertificate.path) || head.pathEquals(CACertificate.digestPath)
    }

    func respond(to request: Request) -> Response {
        let head = request.head
        guard head.method == "GET" || head.method == "HEAD" else {
            var r = Response.text(405, "Method Not Allowed")
            r.headers.append(("Allow", "GET, HEAD"))
            return r
        }
        guard let ca = certificate else { return Response.text(404, "Not Found") }
        let body: [UInt8]
        let type: String
        if head.path == CACertificate.path {
            body = ca.pem
            type = "application/x-pem-file"
        } else {
            // The format `sha256sum -c` reads.
            body = Array("\(ca.sha256)  \(CACertificate.fileName)\n".utf8)
            type = "text/plain; charset=utf-8"
        }
        return Response(
            status: 200,
            headers: [
                ("Content-Type", type), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"),
                ("Content-Disposition", "attachment; filename=\"\(CACertificate.fileName)\""),
            ],
            body: [.bytes(body)])  // the event loop sends no body for HEAD
    }
}
