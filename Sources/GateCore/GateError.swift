//===----------------------------------------------------------------------===//
// ImageGate: the one domain error type, mapped once to HTTP/SFTP/FTP status.
//===----------------------------------------------------------------------===//

/// The error every ImageGate layer throws. Protocol fronts map `code` to their own status once
/// (see `Docs/error-mapping.md`); `message` is safe to show a user and never carries a secret.
public struct GateError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case notFound = "not_found"
        case permissionDenied = "permission_denied"
        case invalidRequest = "invalid_request"
        case unsupported = "unsupported"
        case forbiddenByPolicy = "forbidden"
        case conflict = "conflict"
        case alreadyExists = "already_exists"
        case tokenInvalid = "token_invalid"
        case io = "io_error"
        /// A service this node depends on (the object store) failed or did not answer in time: worth a retry
        /// later (HTTP 503 with Retry-After, FTP 451, SFTP failure; Docs/error-mapping.md).
        case unavailable = "unavailable"
        case `internal` = "internal"
        case usage = "usage"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    @inline(never) public static func notFound(_ what: String) -> GateError { GateError(.notFound, what) }
    @inline(never) public static func invalid(_ why: String) -> GateError { GateError(.invalidRequest, why) }
    @inline(never) public static func conflict(_ why: String) -> GateError { GateError(.conflict, why) }
    @inline(never) public static func io(_ why: String) -> GateError { GateError(.io, why) }
    @inline(never) public static func unavailable(_ why: String) -> GateError { GateError(.unavailable, why) }
    @inline(never) public static func usage(_ why: String) -> GateError { GateError(.usage, why) }
    @inline(never) public static func `internal`(_ why: String) -> GateError { GateError(.internal, why) }
}
