//===----------------------------------------------------------------------===//
// ImageGate: the SFTP front's public types: the served file, the access policy, the configuration.
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO

/// Decides who may log in and for how long a session may go on. Called on session threads, so it must be
/// thread-safe and may block (catalog lookups).
public protocol SFTPAccessPolicy: Sendable {
    /// The file `token` grants to `peer`, or why not.
    func authorize(token: String, peer: PeerAddress) -> SFTPLogin
    /// Re-checked every `SFTPConfig.revalidateIntervalMs` during a session: false (image deleted, token
    /// revoked) ends the session.
    func stillValid(_ file: ServedFile) -> Bool
    /// After `stillValid` ended a session: the one-line reason its holder is told (the link was revoked), sent
    /// as the SSH DISCONNECT message; nil for a plain end (image deleted or replaced).
    func refusalMessage(_ file: ServedFile, peer: PeerAddress) -> String?
    /// A session that had logged in with `file` ended after sending `bytes` (for the audit log).
    func sessionEnded(_ file: ServedFile, bytes: UInt64, peer: PeerAddress, outcome: String)
    /// Bytes sent under the login's link, for its usage: every `UsageReporter.interval` during a session
    /// (`newSession` false), the rest when it ends (`newSession` true, just before `sessionEnded`).
    func usage(_ file: ServedFile, newSession: Bool, bytes: UInt64, peer: PeerAddress)
    /// Before a file OPEN in a session: a refusal message when the link may serve no new download (its
    /// allowance is used up, counting `unreported` bytes this session sent but has not reported yet), else nil.
    /// `peer` is for the audit record of the refusal.
    func refuseOpen(_ file: ServedFile, unreported: UInt64, peer: PeerAddress) -> String?
}

/// The outcome of a login with a token.
public enum SFTPLogin: Sendable {
    case granted(ServedFile)
    /// Refused; every such refusal looks the same to the client (same reply, growing delay).
    case denied
    /// An authentic link that may not be used (expired, revoked, used up, wrong network address): `message`,
    /// one line, goes out as the SSH user-authentication banner, which OpenSSH `sftp` prints (Docs/sftp.md).
    case refused(message: String)
}

extension SFTPAccessPolicy {
    public func refusalMessage(_ file: ServedFile, peer: PeerAddress) -> String? { nil }
    public func sessionEnded(_ file: ServedFile, bytes: UInt64, peer: PeerAddress, outcome: String) {}
    public func usage(_ file: ServedFile, newSession: Bool, bytes: UInt64, peer: PeerAddress) {}
    public func refuseOpen(_ file: ServedFile, unreported: UInt64, peer: PeerAddress) -> String? { nil }
}

/// Limits and timeouts of the SFTP listener.
public struct SFTPConfig: Sendable {
    /// Logged-in sessions at once (one thread each); a login past it is refused with a message.
    public var maxSessions = 64
    /// Logged-in sessions at once from one client address.
    public var maxSessionsPerAddress = 48
    /// Connections still in key exchange or login, in total and per client address; counted apart from
    /// sessions so that connections that never log in cannot fill `maxSessions` (more are closed at accept).
    public var maxUnauthenticated = 64
    public var maxUnauthenticatedPerAddress = 10
    /// New connections per second from one address (burst twice that); more are closed before the banner.
    public var connectionsPerSecondPerAddress = 8
    /// From TCP accept to the end of the key exchange (the pre-auth deadline for silent connections).
    public var kexTimeoutMs: Int64 = 10_000
    /// Which algorithm set the server offers (Docs/sftp.md "Transport").
    public var algorithms: SSHAlgorithmSet = .modern
    /// Offer zlib compression (off: only `none`; compression costs far more server CPU than it saves here).
    public var compression = false
    /// Sessions at once per token (`lftp pget -n 8` needs 8).
    public var maxSessionsPerToken = 32
    /// From TCP accept to an open `sftp` subsystem (key exchange and authentication).
    public var loginTimeoutMs: Int64 = 30_000
    /// No request from the client while nothing is being sent.
    public var idleTimeoutMs: Int64 = 300_000
    /// A reply the client does not take (window closed) for this long.
    public var stallTimeoutMs: Int64 = 60_000
    /// How often a running session asks the policy whether its grant still holds.
    public var revalidateIntervalMs: Int64 = 3_000
    /// Failed logins per peer address within a minute before every further attempt is refused.
    public var maxAuthFailuresPerMinute = 30
    /// Pause after each failed login, times the peer's recent failures (capped at 3 s).
    public var authFailureDelayMs: Int64 = 200
    /// Coalesce replies up to this many bytes before writing to the channel (Docs/sftp-notes.md §9: 64 KiB).
    public var writeBatchBytes = 64 * 1024

    public init() {}
}

/// The SSH algorithm lists the server offers; `modern` is the default (Docs/sftp.md "Transport").
public enum SSHAlgorithmSet: String, Sendable, CaseIterable {
    /// Only curve25519 and 4096/8192-bit DH key exchange, AEAD ciphers and AES-CTR, encrypt-then-MAC MACs.
    case strict
    /// `strict` plus hmac-sha2-256/512 without ETM: libssh2 before 1.11 (curl on Debian 12) has no ETM MAC.
    case modern
    /// `modern` plus the NIST-curve ECDH and 2048-bit DH key exchanges, for old clients only.
    case legacy

    public var kex: String {
        let base =
            "curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,"
            + "diffie-hellman-group18-sha512"
        return self == .legacy
            ? base + ",ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group14-sha256" : base
    }

    public var ciphers: String {
        "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr"
    }

    public var macs: String {
        let etm = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com"
        return self == .strict ? etm : etm + ",hmac-sha2-256,hmac-sha2-512"
    }

    public static let hostKeyAlgorithms = "ssh-ed25519,rsa-sha2-512,rsa-sha2-256"
}
