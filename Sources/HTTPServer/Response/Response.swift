//===----------------------------------------------------------------------===//
// ImageGate: what a handler answers: status, fields, and a body described as a value.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import SystemIO

/// Header field lines serialized once and reused for many responses (the fields of one image version):
/// `Name: value\r\n` each. Built only through `init`, which drops a field holding CR, LF or NUL exactly as
/// the per-response serializer does, so a cached block cannot split a response either.
public struct HeaderBlock: Sendable {
    public let bytes: [UInt8]

    public init(_ fields: [(String, String)]) {
        var out: [UInt8] = []
        for (name, value) in fields where ResponseHeadWriter.isSafe(name) && ResponseHeadWriter.isSafe(value) {
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        bytes = out
    }
}

/// One piece of a response body: literal bytes, or a range of the response's file.
public enum BodyPiece: Equatable, Sendable {
    case bytes([UInt8])
    case file(offset: UInt64, length: UInt64)

    var length: UInt64 {
        switch self {
        case .bytes(let b): UInt64(b.count)
        case .file(_, let l): l
        }
    }
}

/// `Content-Range: bytes first-last/complete` of a single-part 206 (RFC 9110 §14.4, `ContentRange.satisfied`), as
/// numbers: the server writes the digits straight into the head, no String made per range request (issue 17).
public struct SatisfiedRange: Equatable, Sendable {
    public let first: UInt64
    public let last: UInt64
    public let complete: UInt64

    public init(first: UInt64, last: UInt64, complete: UInt64) {
        self.first = first
        self.last = last
        self.complete = complete
    }
}

/// A complete answer. The server adds `Date`, `Content-Length` and `Connection`; the handler never
/// sets framing fields, so it cannot get them wrong.
public struct Response {
    public var status: Int
    /// Fields serialized ahead of time, written right after `Date` and before `headers`.
    public var headerBlock: HeaderBlock?
    /// Written right after `headerBlock`, before `headers`.
    public var contentRange: SatisfiedRange?
    public var headers: [(String, String)]
    public var body: [BodyPiece]
    /// The blob `.file` pieces are read from (the blob store's reader: descriptor and offset per stretch).
    /// Shared and immutable; the response keeps it open until it is sent or cut.
    public var file: (any BlobReader)?
    /// Close the connection after this response (framing errors, policy refusals).
    public var closeConnection: Bool
    /// An outcome word for the access log when the handler wants to say more than the status
    /// (`token_rejected`, `not_found`, …). Never a secret.
    public var note: String?
    /// Groups the requests of one download session (same link on the same connection): when the connection
    /// ends, the handler gets one `sessionEnded` call per key with the requests and bytes. Never a secret.
    public var session: DownloadGrant?

    public init(
        status: Int, headerBlock: HeaderBlock? = nil, contentRange: SatisfiedRange? = nil,
        headers: [(String, String)] = [], body: [BodyPiece] = [], file: (any BlobReader)? = nil,
        closeConnection: Bool = false, note: String? = nil
    ) {
        self.status = status
        self.headerBlock = headerBlock
        self.contentRange = contentRange
        self.headers = headers
        self.body = body
        self.file = file
        self.closeConnection = closeConnection
        self.note = note
    }

    public var bodyLength: UInt64 { body.reduce(0) { $0 + $1.length } }

    /// A short plain-text answer (errors). The text is ours, never request data.
    public static func text(_ status: Int, _ text: String, headers: [(String, String)] = [], close: Bool = false)
        -> Response
    {
        var h = headers
        h.append(("Content-Type", "text/plain; charset=utf-8"))
        let bytes = Array((text + "\n").utf8)
        return Response(status: status, headers: h, body: [.bytes(bytes)], closeConnection: close)
    }
}

@available(*, unavailable)
extension Response: Sendable {}

public enum StatusText {
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 206: "Partial Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 423: "Locked"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        // tus 1.0.0 checksum extension: the body did not match Upload-Checksum.
        case 460: "Checksum Mismatch"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        case 507: "Insufficient Storage"
        // RFC 9110 §15: an unknown code is understood by its class; name the class rather than invent.
        case 100..<200: "Informational"
        case 200..<300: "Success"
        case 300..<400: "Redirection"
        case 400..<500: "Client Error"
        default: "Server Error"
        }
    }
}
