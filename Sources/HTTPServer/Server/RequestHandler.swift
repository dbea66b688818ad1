//===----------------------------------------------------------------------===//
// ImageGate: the interface between the transfer server and the application.
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO

/// A parsed request as the application sees it.
public struct Request {
    public var head: RequestHead
    public var peer: PeerAddress
    public var body: [UInt8]
    /// True on the TLS listener.
    public var secure: Bool

    public init(head: RequestHead, peer: PeerAddress, body: [UInt8], secure: Bool) {
        self.head = head
        self.peer = peer
        self.body = body
        self.secure = secure
    }
}

/// How a request body reaches the application.
public enum BodyHandling {
    /// Read whole into memory (up to `maxBodyBytes`) and passed in `Request.body`: JSON API calls.
    case buffer
    /// Streamed piece by piece to a sink as it arrives, of any length the sink accepted: uploads.
    case stream(any BodySink)
    /// Answered at once without reading the body; the connection closes afterwards.
    case refuse(Response)
}

/// Receives a streamed request body on the connection's loop thread. Writes should be quick (page cache).
public protocol BodySink: AnyObject {
    /// Takes the next bytes; false stops the transfer (the sink then answers from `complete`).
    func consume(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// The whole body arrived, or `consume` said stop: the answer.
    func complete() -> Response
    /// The client went away or stalled before the end; nothing will be answered.
    func abandon()
}

/// The application side of a listener. `respond` runs on an event-loop thread and must be quick: catalog
/// lookups and `open` are fine (microseconds), anything that can take long is not.
public protocol RequestHandler: Sendable {
    func respond(to request: Request) -> Response
    /// The request path as it may appear in a log: secrets (tokens) replaced by their public parts.
    func loggablePath(_ path: String) -> String
    /// Asked once a head with a body has been parsed, before any body byte is read.
    func bodyHandling(for head: RequestHead, peer: PeerAddress, secure: Bool) -> BodyHandling
    /// A connection ended: one call per download grant its responses carried (`Response.session`).
    func sessionEnded(_ grant: DownloadGrant, secure: Bool, requests: Int, bytes: UInt64, peer: PeerAddress)
    /// Bytes sent under a grant on one connection, for the link's usage: every `UsageReporter.interval`
    /// while the connection runs (`newSession` false), the rest when it ends (`newSession` true, just before
    /// `sessionEnded`).
    func sessionUsage(_ grant: DownloadGrant, secure: Bool, newSession: Bool, bytes: UInt64, peer: PeerAddress)
    /// Called about once a second by every event loop of the listener, even when no request arrives:
    /// housekeeping that must not wait for traffic (closing cached descriptors of deleted blobs).
    func tick(nowMs: Int64)
}

extension RequestHandler {
    public func bodyHandling(for head: RequestHead, peer: PeerAddress, secure: Bool) -> BodyHandling { .buffer }
    public func sessionEnded(_ grant: DownloadGrant, secure: Bool, requests: Int, bytes: UInt64, peer: PeerAddress) {}
    public func sessionUsage(_ grant: DownloadGrant, secure: Bool, newSession: Bool, bytes: UInt64, peer: PeerAddress) {
    }
    public func tick(nowMs: Int64) {}
}
