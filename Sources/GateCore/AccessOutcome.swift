//===----------------------------------------------------------------------===//
// ImageGate: every word an access line's `outcome` field can hold, for all three fronts.
//===----------------------------------------------------------------------===//

/// How a request, transfer or session ended, as written in the access log's `outcome` field and counted in
/// `imagegate_download_sessions_total{outcome}` (Docs/operations.md). The raw value is the logged word, so
/// renaming a case's raw value changes the log format and the metric labels.
/// (Not named `Outcome`: SFTPProcessor and ConditionalRequest have nested `Outcome` types that would shadow it.)
public enum AccessOutcome: String, Sendable, CaseIterable, CustomStringConvertible {
    // Any front.
    /// HTTP: the response was sent; FTP: the login succeeded.
    case ok
    // HTTP (Docs/architecture.md "Logs").
    case clientAbort = "client_abort"
    case sendTimeout = "send_timeout"
    /// The file got shorter while it was sent (`sendfile` returned 0).
    case truncated
    case writeError = "write_error"
    /// A response with a file piece but no open file: a bug, never expected in a log.
    case `internal`
    case shutdown
    case refused
    case badRequest = "bad_request"
    /// The object store failed or timed out after the head was sent: the connection was cut, the client resumes.
    case storeUnavailable = "store_unavailable"
    // FTP, one line per login or transfer (Docs/ftp.md).
    case complete
    case aborted
    case quit
    case peerClosed = "peer_closed"
    case stalled
    case controlLost = "control_lost"
    case localError = "local_error"
    case noDataConnection = "no_data_connection"
    case tlsFailed = "tls_failed"
    case denied
    // SFTP, one line per session (Docs/sftp.md).
    case completed
    case authFailed = "auth_failed"
    case kexFailed = "kex_failed"
    case kexTimeout = "kex_timeout"
    case loginTimeout = "login_timeout"
    case idleTimeout = "idle_timeout"
    case stallTimeout = "stall_timeout"
    case serverStop = "server_stop"
    case noSubsystem = "no_subsystem"
    case revoked
    case disconnected
    case protocolError = "protocol_error"
    case connectionLost = "connection_lost"
    case tokenSessionCap = "token_session_cap"
    case rateLimited = "rate_limited"
    case preauthAddressCap = "preauth_address_cap"
    case preauthCap = "preauth_cap"
    case addressCap = "address_cap"
    case sessionCap = "session_cap"

    /// The logged word, so interpolating an outcome into a diagnostic says the same as the access line.
    public var description: String { rawValue }
}
