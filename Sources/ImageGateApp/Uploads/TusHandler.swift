//===----------------------------------------------------------------------===//
// ImageGate: resumable uploads over tus 1.0.0 (core, creation, termination, checksum) under /uploads/.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Foundation
import GateCore
import HTTPServer
import ImageCatalog
import ImageManagement
import ImportPipeline
import SystemIO

/// tus 1.0.0 (https://tus.io/protocols/resumable-upload): `OPTIONS` discovery, `POST` creation (for an import
/// created through the API, named by `Upload-Metadata: image_id …`), `HEAD` offset, `PATCH` append,
/// `DELETE` termination (= cancel the import). Authentication: the API key or console cookie, as for /api/v1.
struct TusHandler: Sendable {
    static let prefix = "/uploads"
    static let version = "1.0.0"
    let imports: ImportManager
    let service: ImageService
    /// Console sessions: the page uploads with its cookie and CSRF token instead of an API key.
    var sessions: ConsoleSessions? = nil

    static func tusHeaders(_ extra: [(String, String)] = []) -> [(String, String)] {
        [("Tus-Resumable", version), ("Cache-Control", "no-store")] + extra
    }

    static func answer(_ status: Int, _ message: String? = nil, _ extra: [(String, String)] = []) -> Response {
        var r = message.map { Response.text(status, $0) } ?? Response(status: status)
        r.headers += tusHeaders(extra)
        return r
    }

    private func principal(_ head: RequestHead, _ peer: PeerAddress) -> Principal? {
        ConsoleAuth.principal(head, peer: peer, service: service, sessions: sessions)
    }

    /// The length of a completed upload named by the path, if the caller may see its image and it is available.
    private func completedLength(_ head: RequestHead, _ p: Principal) -> UInt64? {
        guard let segs = PathDecoder.segments(head.path), segs.count == 2, segs[0] == "uploads",
            let (id, length) = imports.completedUpload(segs[1]),
            let image = try? service.image(p, id), image.status == .available
        else { return nil }
        return length
    }

    /// The session named by the path, if the caller may write that image (else the same 404 either way).
    private func session(_ head: RequestHead, _ p: Principal) -> UploadSession? {
        guard let segs = PathDecoder.segments(head.path), segs.count == 2, segs[0] == "uploads",
            let s = imports.uploadSession(segs[1]), (try? service.image(p, s.imageID)) != nil, p.may(.manageImages)
        else { return nil }
        return s
    }

    /// With an object store every tus call but OPTIONS asks the store (the upload's listing and its record
    /// for the offset; DELETE aborts the multipart upload): answered from a thread of its own, never on the
    /// event loop. A local store answers at once, as before.
    func respond(to request: Request, later: ConnectionWaker) -> Response? {
        guard imports.blobs.stagingWaitsOnNetwork, request.head.method != "OPTIONS" else { return respond(to: request) }
        let (head, peer, body, secure) = (request.head, request.peer, request.body, request.secure)
        _ = OSThread.spawn(name: "tus-call") {
            later.answer(respond(to: Request(head: head, peer: peer, body: body, secure: secure)))
        }
        return nil
    }

    func respond(to request: Request) -> Response {
        let head = request.head
        if head.method == "OPTIONS" {
            return Self.answer(
                204, nil,
                [
                    ("Tus-Version", Self.version), ("Tus-Extension", "creation,termination,checksum"),
                    ("Tus-Checksum-Algorithm", "sha1,sha256,md5"),
                ])
        }
        if head.headers("authorization").count > 1 { return Self.answer(400, RequestShape.twoAuthorizations) }
        guard head.header("tus-resumable") == Self.version else {
            return Self.answer(412, "Tus-Resumable: \(Self.version) required", [("Tus-Version", Self.version)])
        }
        guard let p = principal(head, request.peer) else {
            return Self.answer(401, "an API key is required (Authorization: Bearer igk_…)")
        }
        switch head.method {
        case "POST": return create(head, p)
        case "HEAD":
            guard let s = session(head, p) else {
                // Completed: the final offset, so a client that lost the last PATCH reply sees it is done.
                if let length = completedLength(head, p) {
                    return Self.answer(
                        200, nil, [("Upload-Offset", String(length)), ("Upload-Length", String(length))])
                }
                return Self.answer(404, "no such upload")
            }
            let offset = s.withState { $0.offset }
            return Self.answer(200, nil, [("Upload-Offset", String(offset)), ("Upload-Length", String(s.length))])
        case "DELETE":
            guard let s = session(head, p) else { return Self.answer(404, "no such upload") }
            do {
                _ = try imports.cancel(p, s.imageID, source: request.peer.host)
                return Self.answer(204)
            } catch {
                return Self.answer(APIError.status(error.code), error.message)
            }
        default:
            return Self.answer(405, "method not allowed", [("Allow", "OPTIONS, POST, HEAD, PATCH, DELETE")])
        }
    }

    /// Creation: binds a tus upload URL to an import made through the API (`Upload-Metadata: image_id <b64>`).
    private func create(_ head: RequestHead, _ p: Principal) -> Response {
        guard let lengthText = head.header("upload-length"), let length = UInt64(lengthText) else {
            return Self.answer(400, "Upload-Length required (deferred length is not supported)")
        }
        let meta = Self.metadata(head.header("upload-metadata") ?? "")
        // A request without the import's id is malformed (400); one naming an import the caller cannot
        // write is the uniform 404.
        guard let idText = meta["image_id"] else {
            return Self.answer(400, "Upload-Metadata image_id required (the id from POST /api/v1/imports, base64)")
        }
        guard let id = ImageID(idText),
            let job = try? imports.store.importJob(image: id), let uploadID = job.uploadID,
            let s = imports.uploadSession(uploadID), (try? service.image(p, id)) != nil, p.may(.manageImages)
        else {
            return Self.answer(
                404, "create the import first (POST /api/v1/imports) and name it in Upload-Metadata image_id")
        }
        guard length == s.length else {
            return Self.answer(409, "Upload-Length \(length) differs from the import's size \(s.length)")
        }
        return Self.answer(201, nil, [("Location", "\(Self.prefix)/\(uploadID)")])
    }

    /// `key base64,key2 base64` → [key: value].
    static func metadata(_ header: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in header.split(separator: ",") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let key = parts.first else { continue }
            var value = ""
            if parts.count == 2, let d = Data(base64Encoded: String(parts[1])) {
                value = String(decoding: d, as: UTF8.self)
            }
            out[String(key)] = value
        }
        return out
    }

    /// PATCH bodies stream straight into the import's staging sink.
    func bodyHandling(for head: RequestHead, peer: PeerAddress, secure: Bool) -> BodyHandling {
        guard head.method == "PATCH" else { return .buffer }
        guard head.header("tus-resumable") == Self.version else {
            return .refuse(Self.answer(412, "Tus-Resumable: \(Self.version) required", [("Tus-Version", Self.version)]))
        }
        guard let p = principal(head, peer) else { return .refuse(Self.answer(401, "an API key is required")) }
        // An object store: the rest (the upload's listing, the sink reopened from the store) runs on the
        // PATCH's own thread, and the body waits in the loop until it is done (StorePatch).
        guard imports.blobs.stagingWaitsOnNetwork else { return patch(head, p) }
        return .stream(StorePatch { patch(head, p) })
    }

    /// The checks of a PATCH that need its upload session, then the sink (PatchSink.start).
    private func patch(_ head: RequestHead, _ p: Principal) -> BodyHandling {
        guard let s = session(head, p) else { return .refuse(Self.answer(404, "no such upload")) }
        guard head.header("content-type") == "application/offset+octet-stream" else {
            return .refuse(Self.answer(415, "Content-Type must be application/offset+octet-stream"))
        }
        guard let offText = head.header("upload-offset"), let offset = UInt64(offText) else {
            return .refuse(Self.answer(400, "Upload-Offset required"))
        }
        var checksum: ChunkChecksum?
        if let c = head.header("upload-checksum") {
            guard let parsed = ChunkChecksum(header: c) else {
                return .refuse(Self.answer(400, "unsupported checksum algorithm (sha1, sha256, md5)"))
            }
            checksum = parsed
        }
        return PatchSink.start(
            session: s, imports: imports, offset: offset, length: head.contentLength,
            checksum: checksum)
    }
}
