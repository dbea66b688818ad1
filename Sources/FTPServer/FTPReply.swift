//===----------------------------------------------------------------------===//
// ImageGate: FTP replies: wire form, the fixed texts, and the one mapping from GateError.
//===----------------------------------------------------------------------===//
import GateCore

/// One reply: a three-digit code and one or more lines of text (RFC 959 §4.2).
public struct FTPReply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    /// First line's text, then continuation lines sent as they are (FEAT's lines start with a space, as
    /// RFC 2389 §3.2 requires), then the last line's text.
    public var lines: [String]

    public init(_ code: Int, _ text: String) {
        self.code = code
        self.lines = [text]
    }

    public init(_ code: Int, lines: [String]) {
        precondition(!lines.isEmpty)
        self.code = code
        self.lines = lines
    }

    /// `code text\r\n`, or `code-first\r\n … \r\ncode last\r\n` for several lines (RFC 959 §4.2).
    public var wire: [UInt8] {
        var s: String
        if lines.count == 1 {
            s = "\(code) \(lines[0])\r\n"
        } else {
            s = "\(code)-\(lines[0])\r\n"
            for l in lines.dropFirst().dropLast() { s += l + "\r\n" }
            s += "\(code) \(lines[lines.count - 1])\r\n"
        }
        return Array(s.utf8)
    }

    public var description: String { lines.count == 1 ? "\(code) \(lines[0])" : "\(code) (\(lines.count) lines)" }

    /// The single place a `GateError` becomes an FTP reply (Docs/style.md §2.4; Docs/error-mapping.md).
    public static func from(_ error: GateError) -> FTPReply {
        switch error.code {
        case .notFound: FTPReply(550, "No such file.")
        case .permissionDenied, .forbiddenByPolicy: FTPReply(550, "Permission denied.")
        case .invalidRequest, .usage: FTPReply(501, "Syntax error in parameters or arguments.")
        case .unsupported: FTPReply(502, "Command not implemented.")
        case .conflict, .alreadyExists: FTPReply(550, "Requested action not taken.")
        case .tokenInvalid: FTPReply(530, "Login incorrect.")
        case .io, .internal: FTPReply(451, "Requested action aborted: local error in processing.")
        // RFC 959: 451 is the transient "try again" reply; the object store failed or timed out.
        case .unavailable: FTPReply(451, "Requested action aborted: storage temporarily unavailable, try again.")
        }
    }

    // The fixed texts, kept together so tests and docs can name them.
    static let banner = FTPReply(220, "ImageGate FTP ready.")
    static let pleaseLogin = FTPReply(530, "Please login with USER and PASS.")
    static let loginIncorrect = FTPReply(530, "Login incorrect.")
    static let tlsRequired = FTPReply(
        530, "TLS required: send AUTH TLS before USER and PASS (the password is a download token).")
    static let notImplemented = FTPReply(502, "Command not implemented.")
    static let activeRefused = FTPReply(502, "Active mode (PORT/EPRT) is disabled: use PASV or EPSV.")
    static let readOnly = FTPReply(550, "Permission denied: this server is read-only.")
    static let noSuchFile = FTPReply(550, "No such file or directory.")
    static let badSequence = FTPReply(503, "Bad sequence of commands.")
    static let syntaxError = FTPReply(501, "Syntax error in parameters or arguments.")
    static let lineTooLong = FTPReply(500, "Command line too long.")
    static let usePassive = FTPReply(425, "Use PASV or EPSV first.")
    static let protectData = FTPReply(522, "Data connections must be encrypted: send PBSZ 0 and PROT P first.")
    static let goodbye = FTPReply(221, "Goodbye.")
    static let timeout = FTPReply(421, "Timeout: closing control connection.")
    static let loginTimeout = FTPReply(421, "Login time exceeded: closing control connection.")
    static let transferComplete = FTPReply(226, "Transfer complete.")
    static let transferAborted = FTPReply(426, "Connection closed; transfer aborted.")
    static let noDataConnection = FTPReply(425, "Can't open data connection.")
    static let linkInvalid = FTPReply(530, "The download link is no longer valid: mint a new one and log in again.")

    /// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).` (RFC 959 §4.1.2).
    public static func passive(ip: [UInt8], port: UInt16) -> FTPReply {
        let h = ip.map { String($0) }.joined(separator: ",")
        return FTPReply(227, "Entering Passive Mode (\(h),\(port >> 8),\(port & 0xff)).")
    }

    /// `229 Entering Extended Passive Mode (|||port|)` (RFC 2428 §3).
    public static func extendedPassive(port: UInt16) -> FTPReply {
        FTPReply(229, "Entering Extended Passive Mode (|||\(port)|)")
    }
}
