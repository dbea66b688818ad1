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

/// What a body sink wants after taking bytes.
public enum BodyStep: Sendable {
    /// Go on: the next bytes when they arrive.
    case more
    /// The bytes were taken, but no more until `ConnectionWaker.resume` (the sink's work runs elsewhere, for
    /// example a part upload to an object store): the loop stops reading the connection, so TCP flow control
    /// holds the client back, and serves its other connections meanwhile.
    case wait
    /// Stop the transfer (the sink then answers from `complete`).
    case stop
}

/// Receives a streamed request body on the connection's loop thread. Each call must be quick (a copy, a
/// page-cache write); work that can take long goes to another thread, with `.wait` or a later answer.
public protocol BodySink: AnyObject {
    /// Takes all of `bytes`. `later` is valid only when the answer is `.wait`: it resumes exactly that wait.
    func consume(_ bytes: UnsafeRawBufferPointer, later: ConnectionWaker) -> BodyStep
    /// The whole body arrived, or `consume` said stop: the answer, or nil when `later.answer` gives it from
    /// another thread (exactly once; the head is written only then).
    func complete(later: ConnectionWaker) -> Response?
    /// The client went away or stalled before the end, or the server stops; nothing will be answered. Also
    /// called while the sink waits (`.wait`): it must not disturb work in flight elsewhere.
    func abandon()
}

/// How another thread reaches one parked connection: a report is for the park the waker was made for and
/// is ignored when that park is over (answered, timed out, the connection closed): a late report never
/// resumes a later request. `Sendable`, cheap to copy.
public struct ConnectionWaker: Sendable {
    let mailbox: LoopMailbox
    let tag: UInt64
    let park: UInt64

    /// A body sink that answered `.wait` takes bytes again.
    public func resume() { mailbox.bodyReport(tag: tag, park: park, answer: nil) }

    /// The answer a sink's `complete` or a handler's `respond(to:later:)` left for later. The caller gives the
    /// response up: the loop writes it.
    public func answer(_ response: Response) {
        mailbox.bodyReport(tag: tag, park: park, answer: HandedResponse(response))
    }
}

/// The application side of a listener. `respond` runs on an event-loop thread and must be quick: catalog
/// lookups and `open` are fine (microseconds), anything that can take long is not.
public protocol RequestHandler: Sendable {
    func respond(to request: Request) -> Response
    /// `respond(to:)` for a handler that may answer from another thread: nil means `later.answer` will give
    /// the response (exactly once); the connection reads nothing meanwhile. The default answers at once.
    func respond(to request: Request, later: ConnectionWaker) -> Response?
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
    public func respond(to request: Request, later: ConnectionWaker) -> Response? { respond(to: request) }
    public func bodyHandling(for head: RequestHead, peer: PeerAddress, secure: Bool) -> BodyHandling { .buffer }
    public func sessionEnded(_ grant: DownloadGrant, secure: Bool, requests: Int, bytes: UInt64, peer: PeerAddress) {}
    public func sessionUsage(_ grant: DownloadGrant, secure: Bool, newSession: Bool, bytes: UInt64, peer: PeerAddress) {
    }
    public func tick(nowMs: Int64) {}
}
