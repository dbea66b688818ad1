//===----------------------------------------------------------------------===//
// ImageGate: process exit codes, one per kind of failure a script may want to tell apart.
//===----------------------------------------------------------------------===//
import GateCore

public enum ExitCode {
    public static let success: Int32 = 0
    /// Anything that went wrong at run time (I/O, catalog, server).
    public static let failure: Int32 = 1
    /// The thing named does not exist (or is not visible to the caller).
    public static let notFound: Int32 = 3
    /// The request was understood but refused (wrong state, policy, a value the rules do not allow).
    public static let refused: Int32 = 4
    /// `image verify` found an image whose stored bytes are missing or not the recorded ones.
    public static let corrupt: Int32 = 5
    /// The command line itself is malformed (unknown option, missing or extra argument, an id that is not
    /// one) or the configuration is (sysexits EX_USAGE). What the server's rules refuse is `refused`.
    public static let usage: Int32 = 64

    static func of(_ error: GateError) -> Int32 {
        switch error.code {
        case .usage: usage
        case .notFound: notFound
        case .invalidRequest, .conflict, .forbiddenByPolicy, .permissionDenied, .tokenInvalid, .alreadyExists,
            .unsupported:
            refused
        case .io, .internal, .unavailable: failure
        }
    }
}
