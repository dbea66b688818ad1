//===----------------------------------------------------------------------===//
// ImageGate: the interface between the transfer server and the application.
//===----------------------------------------------------------------------===//
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

/// The application side of a listener. `respond` runs on an event-loop thread and must be quick: catalog
/// lookups and `open` are fine (microseconds), anything that can take long is not.
public protocol RequestHandler: Sendable {
    func respond(to request: Request) -> Response
    /// The request path as it may appear in a log: secrets (tokens) replaced by their public parts.
    func loggablePath(_ path: String) -> String
}
