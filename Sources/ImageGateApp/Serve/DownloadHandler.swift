//===----------------------------------------------------------------------===//
// ImageGate: GET/HEAD of /d/<token>/<file name>: token check, validators, ranges, the file.
//===----------------------------------------------------------------------===//
import DownloadTokens
import Foundation
import GateCore
import HTTPServer
import ImageCatalog
import Synchronization
import SystemIO

/// The HTTP download front. Decision order follows Docs/protocols.md §1.2: authorize, then
/// preconditions, then Range (GET only, If-Range honoured), then stream from the blob with sendfile.
struct DownloadHandler: RequestHandler {
    let authorizer: DownloadAuthorizer
    let blobs: any BlobStorage
    let logger: Logger
    let clock: any WallClock
    let headerCache = HeaderCache()
    let files = OpenFileCache()
    /// Writes a `download.session` audit record (action, target, tenant, source, detail).
    var audit: (@Sendable (String, String, TenantID?, String, [String: String]) -> Void)? = nil

    func sessionEnded(_ grant: DownloadGrant, secure: Bool, requests: Int, bytes: UInt64, peer: PeerAddress) {
        guard let audit else { return }
        audit(
            "download.session", grant.image.description, grant.tenant, peer.description,
            [
                "serial": grant.serial.hex, "protocol": secure ? "https" : "http", "requests": String(requests),
                "bytes": String(bytes),
            ])
    }

    func sessionUsage(_ grant: DownloadGrant, secure: Bool, newSession: Bool, bytes: UInt64, peer: PeerAddress) {
        authorizer.recordUse(
            grant, newSessions: newSession ? 1 : 0, bytes: bytes, protocolName: secure ? "https" : "http", peer: peer)
    }

    func tick(nowMs: Int64) {
        files.sweep(nowMs: nowMs)
    }

    /// The one answer for every token or lookup failure: no hint of which check failed (§3.3 step 10).
    /// Fields and body are built once (a bad-token flood should cost less than a download).
    private static func notFound(_ note: String) -> Response {
        Response(status: 404, headerBlock: notFoundFields, body: notFoundBody, note: note)
    }
    private static let notFoundFields = HeaderBlock([("Content-Type", "text/plain; charset=utf-8")])
    private static let notFoundBody: [BodyPiece] = [.bytes(Array("Not Found\n".utf8))]

    /// An authentic link that may not be used: 410 (403 for the client address) with the one sentence that
    /// tells the recipient why (Docs/links.md "Refused links"). Never cached: a new link has a new URL anyway,
    /// but a 410 must not outlive an operator's mistake in a shared cache.
    /// Fields and body made once per refusal: the bytes `Response.text(status, sentence, headers: [Cache-Control])`
    /// sends (the block is written where those fields would be), without building them per request (a client
    /// retrying an expired link in a loop).
    static func refused(_ refusal: LinkRefusal, note: String) -> Response {
        for (r, fields, body) in refusalParts where r == refusal {
            return Response(status: refusal.httpStatus, headerBlock: fields, body: body, note: note)
        }
        var r = Response.text(refusal.httpStatus, refusal.sentence, headers: [("Cache-Control", "no-store")])
        r.note = note
        return r
    }
    static let refusalParts: [(LinkRefusal, HeaderBlock, [BodyPiece])] = LinkRefusal.allCases.map {
        (
            $0, HeaderBlock([("Cache-Control", "no-store"), ("Content-Type", "text/plain; charset=utf-8")]),
            [.bytes(Array(($0.sentence + "\n").utf8))]
        )
    }

    func respond(to request: Request) -> Response {
        // The path is split and decoded into temporary memory, its segments compared as bytes: the only String
        // a download makes of its path is the token's (the authorizer takes a Substring).
        request.head.withPath { path in
            PathDecoder.withSegments(path) { route(request, $0) }
        }
    }

    private func route(_ request: Request, _ segments: PathDecoder.Segments?) -> Response {
        let head = request.head
        // A path that cannot name a download (trailing or double slash, dot segments, bad escapes) gets the
        // same 404 as any other miss (Docs/http-parsing.md): `rclone lsl` probes `<link>/` and expects 404.
        guard let segments else { return Self.notFound("bad_path") }
        if segments.count == 1 && segments.equals(0, "healthz") {
            guard head.method == "GET" || head.method == "HEAD" else {
                var r = Response.text(405, "Method Not Allowed", headers: [("Allow", "GET, HEAD")])
                r.note = "method"
                return r
            }
            return Response.text(200, "ok", headers: [("Cache-Control", "no-store")])
        }
        let token: Substring
        if segments.count == 3 && segments.equals(0, "d") {
            token = Substring(segments.string(1))
        } else if segments.count == 3 && segments.equals(0, "i"), let bearer = Self.bearer(head) {
            // Scripted form: /i/<image-id>/<name> with Authorization: Bearer <token>; the id must match.
            token = bearer
        } else {
            return Self.notFound("no_route")
        }
        guard head.method == "GET" || head.method == "HEAD" else {
            var r = Response.text(405, "Method Not Allowed", headers: [("Allow", "GET, HEAD")])
            r.note = "method"
            return r
        }
        let required: ProtocolSet = request.secure ? .http : [.http, .httpPlain]
        let download: AuthorizedDownload
        switch authorizer.authorize(token: token, protocol: required, peer: request.peer.bytes) {
        case .failure(let denial):
            guard let refusal = denial.linkRefusal else { return Self.notFound(denial.logReason) }
            return Self.refused(refusal, note: denial.logReason)
        case .success(let d): download = d
        }
        if segments.equals(0, "i") && !segments.equals(1, download.image.id.description) {
            return Self.notFound("image_mismatch")
        }
        var response = serve(download, head)
        // One audit record per link per connection when it ends (Docs/protocols.md §7.3: aggregate downloads).
        response.session = download.grant
        return response
    }

    private static func bearer(_ head: RequestHead) -> Substring? {
        guard let v = head.header("authorization"), v.hasPrefix("Bearer ") else { return nil }
        return Substring(v.dropFirst(7))
    }

    /// Takes the authorization (a class) rather than its `ImageRecord`: passing the record copied its Strings,
    /// a dozen reference-count operations per request (issue 17); fields are read through `download.image`.
    private func serve(_ download: AuthorizedDownload, _ head: RequestHead) -> Response {
        let file: any BlobReader
        let version = BlobVersion(image: download.image.id, generation: download.image.generation)
        do {
            file = try files.file(for: version, nowMs: Monotonic.milliseconds()) {
                () throws(GateError) -> any BlobReader in
                try blobs.openReader(version, expectedSize: download.image.size)
            }
        } catch {
            logger.error("image \(download.image.id) is available but its blob cannot be read: \(error.message)")
            var r = Response.text(500, "Internal Server Error")
            r.note = "blob_unreadable"
            return r
        }
        guard file.size == download.image.size else {
            // A cached reader of an earlier length (the catalog changed under it): dropped, never served.
            files.evict(image: download.image.id)
            logger.error("image \(download.image.id) blob is \(file.size) bytes, catalog says \(download.image.size)")
            var r = Response.text(500, "Internal Server Error")
            r.note = "blob_size_mismatch"
            return r
        }
        let now = clock.now()
        let fixed = representationHeaders(download)
        let validators = Validators(etag: fixed.etag, lastModified: fixed.lastModified, date: now)
        let decision: RangeDecision
        // The fields are read from the head's bytes (Range parsed in place, no String for it).
        switch ConditionalRequest.decide(head: head, validators: validators, length: file.size) {
        case .notModified: return Response(status: 304, headerBlock: fixed.common)
        case .preconditionFailed: return Response(status: 412, headerBlock: fixed.common)
        case .serve(let d): decision = d
        }
        let contentType = "application/octet-stream"
        // `?digest=off` leaves out Digest and Repr-Digest: aria2c verifies a Digest header by re-reading and
        // hashing the whole file after the download and has no option to skip that (Docs/http-range.md).
        let withDigest = !head.withQuery(Self.digestOff)
        let entity = withDigest ? fixed.entity : fixed.entityWithoutDigest
        switch decision {
        case .full:
            return Response(
                status: 200, headerBlock: entity,
                body: file.size > 0 ? [.file(offset: 0, length: file.size)] : [], file: file)
        case .single(let first, let last):
            return Response(
                status: 206, headerBlock: entity,
                contentRange: SatisfiedRange(first: first, last: last, complete: file.size),
                body: [.file(offset: first, length: last - first + 1)], file: file)
        case .multiple(let ranges):
            let layout = MultipartLayout(
                ranges: ranges, totalLength: file.size, partContentType: contentType,
                boundary: MultipartLayout.makeBoundary(UInt64.random(in: 0...UInt64.max)))
            let pieces: [BodyPiece] = layout.pieces.map {
                switch $0 {
                case .bytes(let b): .bytes(b)
                case .fileRange(let o, let l): .file(offset: o, length: l)
                }
            }
            return Response(
                status: 206, headerBlock: withDigest ? fixed.commonAndDigest : fixed.common,
                headers: [("Content-Type", layout.contentType)],
                body: pieces, file: file)
        case .unsatisfiable:
            // Empty body (curl #1163: old curl appended error pages to resumed files).
            return Response(
                status: 416, headerBlock: fixed.common,
                headers: [("Content-Range", ContentRange.unsatisfied(length: file.size))])
        }
    }

    /// The header lines that depend only on the image version, computed once per version (formatting dates
    /// and base64 digests per request showed up in the 64 KiB range benchmark).
    private func representationHeaders(_ download: AuthorizedDownload) -> RepresentationHeaders {
        let key = BlobVersion(image: download.image.id, generation: download.image.generation)
        if let hit = headerCache.map.withLock({ $0[key] }) { return hit }
        let image = download.image
        let lastModified = image.finalizedAt ?? image.updatedAt
        let etag = Self.etag(image)
        var digest: [(String, String)] = []
        if let d = Self.base64Digest(image.sha256) {
            // RFC 3230 Digest (aria2 verifies it) and RFC 9530 Repr-Digest.
            digest = [("Digest", "SHA-256=\(d)"), ("Repr-Digest", "sha-256=:\(d):")]
        }
        let common: [(String, String)] = [
            ("Accept-Ranges", "bytes"), ("ETag", etag), ("Last-Modified", TimeFormat.httpDate(lastModified)),
            ("Cache-Control", "private, no-store"), ("Referrer-Policy", "no-referrer"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        let entityFields: [(String, String)] = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Disposition", "attachment; filename=\"\(image.fileName)\""),
        ]
        let fixed = RepresentationHeaders(
            etag: etag, lastModified: lastModified, common: HeaderBlock(common),
            commonAndDigest: HeaderBlock(common + digest), entity: HeaderBlock(common + digest + entityFields),
            entityWithoutDigest: HeaderBlock(common + entityFields))
        headerCache.map.withLock { map in
            if map.count >= 4096 { map.removeAll(keepingCapacity: true) }
            map[key] = fixed
        }
        return fixed
    }

    /// True when the query has the pair `digest=off` (any position, `&`-separated; nothing else is read).
    static func digestOff(_ query: String?) -> Bool {
        guard var query else { return false }
        return query.withUTF8 { digestOff(UnsafeRawBufferPointer($0)) }
    }

    /// The same on the query's bytes; `split` on a buffer makes no copies of the pairs, only an array of slices,
    /// and only when there is a query.
    static func digestOff(_ query: UnsafeRawBufferPointer?) -> Bool {
        guard let query else { return false }
        return query.split(separator: UInt8(ascii: "&")).contains { $0.elementsEqual("digest=off".utf8) }
    }

    /// Strong, stable across restarts, and different whenever the bytes could differ (generation, digest).
    static func etag(_ image: ImageRecord) -> String {
        "\"\(image.id.raw.hex)-\(image.generation)-\(image.sha256.prefix(16))\""
    }

    static func base64Digest(_ hex: String) -> String? {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else { return nil }
        return Data(bytes).base64EncodedString()
    }

    /// `/d/<token>/name` → `/d/igt1.<kid>.<serial prefix>…/name`: enough to correlate with the mint record,
    /// never enough to replay.
    func loggablePath(_ path: String) -> String {
        guard path.hasPrefix("/d/") else { return path }
        let rest = path.dropFirst(3)
        let end = rest.firstIndex(of: "/") ?? rest.endIndex
        return "/d/" + TokenRedaction.redact(rest[..<end]) + rest[end...]
    }
}

/// Header lines of one image version (see `representationHeaders`), serialized once.
struct RepresentationHeaders: Sendable {
    let etag: String
    let lastModified: Int64
    /// On every answer, 304 and 412 included.
    let common: HeaderBlock
    /// Multipart 206: common, then Digest and Repr-Digest (they describe the whole representation).
    let commonAndDigest: HeaderBlock
    /// 200 and single-part 206: common, digests, Content-Type, Content-Disposition.
    let entity: HeaderBlock
    /// The same without the digests (`?digest=off`).
    let entityWithoutDigest: HeaderBlock
}

final class HeaderCache: Sendable {
    let map = Mutex<[BlobVersion: RepresentationHeaders]>([:])
}
