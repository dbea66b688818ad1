//===----------------------------------------------------------------------===//
// ImageGate: what a management API request must look like before anyone reads it (Docs/management.md).
//===----------------------------------------------------------------------===//
import Foundation
import HTTPServer

/// Checks made before authentication and routing, so every API route (and the console's session route)
/// gets them alike:
/// - more than one `Authorization` header is ambiguous (which one did a proxy check?): 400;
/// - a request body declared as anything but JSON (`application/json`, parameters such as `charset` allowed,
///   `application/<x>+json` too) is 415 (RFC 9110 §15.5.16), never parsed as JSON by chance: a cross-site
///   form or `fetch` always declares `text/plain`, `application/x-www-form-urlencoded` or
///   `multipart/form-data`. A body without any Content-Type is read as JSON (scripts, `http.client`); no
///   browser can send one cross-site.
enum RequestShape {
    static let twoAuthorizations = "more than one Authorization header"

    static func refusal(_ request: Request) -> Response? {
        let head = request.head
        if head.headers("authorization").count > 1 {
            return APIReply.json(400, ["error": ["code": "invalid_request", "message": twoAuthorizations]])
        }
        // VM disk content (PUT …/content) is raw bytes streamed to disk, not a JSON body.
        guard !request.body.isEmpty, !(head.method == "PUT" && head.path.hasSuffix("/content")) else { return nil }
        let types = head.headers("content-type")
        guard types.isEmpty || (types.count == 1 && isJSON(types[0])) else {
            var r = APIReply.json(
                415,
                [
                    "error": [
                        "code": "unsupported_media_type",
                        "message": "the request body must be JSON sent as Content-Type: application/json",
                    ]
                ])
            r.headers.append(("Accept-Patch", "application/json"))
            return r
        }
        return nil
    }

    static func isJSON(_ value: String) -> Bool {
        let media = value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let media = media?.lowercased() else { return false }
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }
}
