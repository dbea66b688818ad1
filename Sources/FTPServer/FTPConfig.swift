//===----------------------------------------------------------------------===//
// ImageGate: what the FTP front needs from the outside: its limits, the file a token opens, the policy.
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO

/// The outcome of `PASS <token>`.
public enum FTPLogin: Sendable, Equatable {
    case granted(ServedFile)
    /// Refused. `reason` and `tokenLabel` are for the log only. The client sees the same 530 for every refusal,
    /// unless `message` is set: the one-line reason an authentic link is refused (expired, revoked, used up,
    /// wrong network address), which its recipient is told instead (Docs/ftp.md).
    case denied(reason: String, tokenLabel: String, message: String? = nil)
}

/// Decides what a token opens. Catalog-agnostic: the composition root implements it with tokens and images.
public protocol FTPAccessPolicy: Sendable {
    /// Verifies `token` for FTP. `secure` is true when the control connection is TLS-protected (FTPS);
    /// false means the token crossed the network in clear text.
    func authorize(token: String, secure: Bool, peer: PeerAddress) -> FTPLogin
    /// Re-checks a grant before each transfer (image recycled, replaced or token revoked since login).
    func stillValid(_ file: ServedFile) -> Bool
    /// After `stillValid` refused a transfer: the one-line reason its holder is told (the link expired or was
    /// revoked since login), or nil for the generic "no longer valid" reply (image deleted or replaced).
    func refusalMessage(_ file: ServedFile, secure: Bool, peer: PeerAddress) -> String?
    /// A logged-in control connection ended after its transfers sent `bytes` (for the audit log).
    func sessionEnded(_ file: ServedFile, bytes: UInt64, transfers: Int, secure: Bool, peer: PeerAddress)
    /// Bytes sent under the login's link, for its usage: every `UsageReporter.interval` during a session
    /// (`newSession` false), the rest when it ends (`newSession` true, just before `sessionEnded`).
    func usage(_ file: ServedFile, newSession: Bool, bytes: UInt64, secure: Bool, peer: PeerAddress)
}

extension FTPAccessPolicy {
    public func refusalMessage(_ file: ServedFile, secure: Bool, peer: PeerAddress) -> String? { nil }
    public func sessionEnded(_ file: ServedFile, bytes: UInt64, transfers: Int, secure: Bool, peer: PeerAddress) {}
    public func usage(_ file: ServedFile, newSession: Bool, bytes: UInt64, secure: Bool, peer: PeerAddress) {}
}

/// Limits and timeouts of one FTP listener (Docs/protocols.md §6.3).
public struct FTPConfig: Sendable {
    /// Passive data ports; nil picks an ephemeral port per PASV/EPSV.
    public var passivePorts: ClosedRange<UInt16>? = nil
    /// The IPv4 address written in 227 replies (`ftp.public_host`, a balancer or NAT address); nil = the
    /// control connection's local address. The passive listener binds to the local address either way.
    public var passiveReplyAddress: [UInt8]? = nil
    /// Plain FTP allowed: login without AUTH TLS, data without PROT P. Off by default: the password is the token.
    public var allowPlain = false
    /// A control connection with no command for this long is closed (421).
    public var idleTimeoutMs: Int64 = 300_000
    /// A control connection that has not logged in this long after connecting is closed (421): connections
    /// that never log in do not hold a slot for the whole idle timeout (Docs/ftp.md).
    public var loginTimeoutMs: Int64 = 30_000
    /// How long a passive listener waits for its data connection (RFC 2577 / "Pizza Thief": close after 30 s).
    public var dataTimeoutMs: Int64 = 30_000
    /// A transfer whose client accepts no byte for this long is aborted (426).
    public var sendTimeoutMs: Int64 = 60_000
    /// Control connections in all, and from one address.
    public var maxSessions = 200
    public var maxSessionsPerPeer = 32
    /// Longest command line accepted: 512 (RFC 959 practice) plus room for a 256-byte token in PASS.
    public var maxLineBytes = 768
    /// Pause before each 530 after a failed PASS (slows guessing, constant for every reason).
    public var loginFailureDelayMs: Int64 = 1_000
    /// Failed logins on one control connection before it is closed.
    public var maxLoginFailuresPerSession = 3
    /// Failed logins from one address within `failureWindowSeconds` before new sessions are refused (421).
    public var maxLoginFailuresPerPeer = 30
    public var failureWindowSeconds: Int64 = 600
    /// Bytes read from the image per TLS write (Docs/style.md §2.5: 128 KiB like NIO and Hummingbird).
    public var tlsChunkBytes = 128 * 1024
    /// Bytes per sendfile call on plain data connections (nginx `sendfile_max_chunk`).
    public var sendfileChunkBytes = 2 << 20

    public init() {}
}
