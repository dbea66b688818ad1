//===----------------------------------------------------------------------===//
// ImageGate: what went wrong talking to PostgreSQL, classified by SQLSTATE, never carrying the password.
//===----------------------------------------------------------------------===//
import GateCore

/// The one error `PostgresClient` throws. `kind` is what callers switch on; `sqlState` is the server's
/// five-character code when there is one (https://www.postgresql.org/docs/15/errcodes-appendix.html).
/// `message` never contains the connection password: URL errors do not repeat the URL, and every libpq or
/// server text is scrubbed of the password before it is stored.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// The catalog URL is malformed or has an unknown parameter.
        case invalidURL = "invalid_url"
        /// No connection could be made (refused, unreachable, TLS required, database missing, too many clients).
        case connectionFailed = "connection_failed"
        /// The server refused the user or password (SQLSTATE class 28).
        case authenticationFailed = "authentication_failed"
        /// An established connection broke (server restart, `pg_terminate_backend`, network). The outcome of a
        /// statement in flight, a COMMIT included, is unknown.
        case connectionLost = "connection_lost"
        case uniqueViolation = "unique_violation"  // 23505
        case foreignKeyViolation = "foreign_key_violation"  // 23503
        /// Any other integrity constraint (class 23: NOT NULL, CHECK, exclusion).
        case constraintViolation = "constraint_violation"
        case serializationFailure = "serialization_failure"  // 40001
        case deadlockDetected = "deadlock_detected"  // 40P01
        /// `lock_timeout` or NOWAIT (55P03), or a statement cancelled by `statement_timeout` (57014).
        case lockOrStatementTimeout = "lock_or_statement_timeout"
        /// Every other error the server reported (syntax, undefined table, ...); see `sqlState`.
        case server = "server_error"
        /// No pooled connection became free within the pool's acquire timeout.
        case poolTimeout = "pool_timeout"
        case poolClosed = "pool_closed"
        /// A parameter ImageGate cannot send as PostgreSQL text (a NUL character).
        case invalidParameter = "invalid_parameter"
        /// A result column read as a type it does not have, a NULL read as non-optional, a missing column.
        case typeMismatch = "type_mismatch"
        /// The API used the wrong way (a transaction inside a transaction, a malformed migration list).
        case misuse = "misuse"
    }

    public var kind: Kind
    public var sqlState: String?
    public var message: String
    /// The server's DETAIL line (may quote row values; fine for logs, not for end users).
    public var detail: String?
    /// The constraint that was violated, for class 23 errors.
    public var constraint: String?

    public init(
        _ kind: Kind, _ message: String, sqlState: String? = nil, detail: String? = nil, constraint: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.constraint = constraint
    }

    public var description: String {
        var s = message
        if let sqlState { s += " (SQLSTATE \(sqlState))" }
        if let detail { s += ": \(detail)" }
        return s
    }

    /// True for the conflicts a transaction should simply run again: serialization failure and deadlock
    /// (https://www.postgresql.org/docs/15/mvcc-serialization-failure-handling.html).
    public var isTransactionConflict: Bool { kind == .serializationFailure || kind == .deadlockDetected }

    @inline(never) static func invalidURL(_ why: String) -> PostgresError {
        PostgresError(.invalidURL, "invalid PostgreSQL URL: \(why)")
    }
    @inline(never) static func typeMismatch(_ why: String) -> PostgresError { PostgresError(.typeMismatch, why) }
    @inline(never) static func misuse(_ why: String) -> PostgresError { PostgresError(.misuse, why) }

    /// The kind for a server SQLSTATE. Class 08 (connection exception) and 57P01–57P03 (the server is going
    /// away) mean this connection is gone; class 28 is authentication.
    static func kind(forSQLState state: String) -> Kind {
        switch state {
        case "23505": return .uniqueViolation
        case "23503": return .foreignKeyViolation
        case "40001": return .serializationFailure
        case "40P01": return .deadlockDetected
        case "55P03", "57014": return .lockOrStatementTimeout
        case "57P01", "57P02", "57P03": return .connectionLost
        default: break
        }
        if state.hasPrefix("23") { return .constraintViolation }
        if state.hasPrefix("08") { return .connectionLost }
        if state.hasPrefix("28") { return .authenticationFailed }
        return .server
    }

    /// The domain error for the catalog layer above: one mapping, exhaustive, so a new kind must be placed.
    public var gateError: GateError {
        switch kind {
        case .uniqueViolation: GateError(.alreadyExists, "catalog entry already exists")
        case .foreignKeyViolation, .constraintViolation: .conflict("catalog constraint violated: \(message)")
        case .serializationFailure, .deadlockDetected, .lockOrStatementTimeout: .io("catalog busy")
        case .connectionFailed, .authenticationFailed, .connectionLost, .poolTimeout, .poolClosed:
            .io("catalog unavailable: \(message)")
        case .invalidURL: .usage(message)
        case .invalidParameter: .invalid(message)
        case .server, .typeMismatch, .misuse: .io("catalog error: \(description)")
        }
    }
}
