//===----------------------------------------------------------------------===//
// ImageGate: the web console's static files under /console/, from a fixed table compiled into the binary.
//===----------------------------------------------------------------------===//
import ConsoleAssets
import GateCore
import HTTPServer

/// Serves `ConsoleAssets.files` (generated from `Console/` and the custom image guide by
/// scripts/embed-console.py). A URL is looked up in that table and nothing else: no file system path is ever
/// built from a request. Paths without a dot are the page's own routes and get `index.html`.
struct ConsoleHandler: Sendable {
    static let prefix = "/console"

    /// The Content-Security-Policy of every console answer: only our own scripts, styles and API.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    static func contentType(_ name: String) -> String {
        if name.hasSuffix(".html") { return "text/html; charset=utf-8" }
        if name.hasSuffix(".js") { return "text/javascript; charset=utf-8" }
        if name.hasSuffix(".css") { return "text/css; charset=utf-8" }
        if name.hasSuffix(".md") { return "text/markdown; charset=utf-8" }
        if name.hasSuffix(".svg") { return "image/svg+xml" }
        return "application/octet-stream"
    }

    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"), ("Cache-Control", "no-cache"),
    ]

    /// The asset a path names: `/console/` and page routes → index.html; `/console/app.js` → app.js; else nil.
    static func asset(for path: String) -> String? {
        guard path.hasPrefix(prefix + "/") else { return nil }
        let rest = path.dropFirst(prefix.count + 1)
        if rest.isEmpty { return "index.html" }
        if ConsoleAssets.files[String(rest)] != nil { return String(rest) }
        // Page routes are letters, digits, '-' and '/', e.g. recycle-bin or guide; never a dot (no "..").
        let pageRoute = rest.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "/")
        }
        return pageRoute && rest.count <= 64 ? "index.html" : nil
    }

    func respond(to request: Request) -> Response {
        let head = request.head
        guard head.method == "GET" || head.method == "HEAD" else {
            var r = Response.text(405, "Method Not Allowed", headers: Self.securityHeaders)
            r.headers.append(("Allow", "GET, HEAD"))
            return r
        }
        if head.path == Self.prefix {
            return Response(status: 301, headers: [("Location", Self.prefix + "/")] + Self.securityHeaders)
        }
        guard let name = Self.asset(for: head.path), let text = ConsoleAssets.files[name] else {
            return Response.text(404, "Not Found", headers: Self.securityHeaders)
        }
        let body = Array(text.utf8)
        let etag = "\"" + Hex.encode(ConsoleAssets.digest(name: name, body: body)) + "\""
        var headers = [("Content-Type", Self.contentType(name)), ("ETag", etag)] + Self.securityHeaders
        if head.header("if-none-match") == etag {
            return Response(status: 304, headers: headers)
        }
        headers.append(("X-Robots-Tag", "noindex"))
        return Response(status: 200, headers: headers, body: [.bytes(body)])
    }
}

extension ConsoleAssets {
    /// A short validator for an asset (FNV-1a 64 of its bytes): enough to let the browser revalidate.
    static func digest(name: String, body: [UInt8]) -> [UInt8] {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in body {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return (0..<8).map { UInt8(truncatingIfNeeded: h >> (56 - 8 * UInt64($0))) }
    }
}
