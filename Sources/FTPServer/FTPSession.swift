//===----------------------------------------------------------------------===//
// ImageGate: the FTP control state machine: command line in, effects out; no sockets.
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO

/// What the connection must do, in order, for one command line.
public enum FTPEffect: Sendable, Equatable {
    case reply(FTPReply)
    /// After the 234 reply: the TLS handshake on the control connection (RFC 4217 §4).
    case startTLS
    /// Open a passive data listener and answer 227 (`extended` false) or 229, or 425 if none can be opened.
    case openPassive(extended: Bool)
    /// Close an open passive listener (ABOR outside a transfer, a new PASV replaces it).
    case closePassive
    /// 150, accept the data connection, send, 226 (or 425/426/451).
    case transfer(FTPTransfer)
    /// A login was refused: count it, log it, wait the failure delay before the 530 that follows.
    case loginFailed(reason: String, tokenLabel: String)
    /// A login succeeded (for the log).
    case loggedIn(ServedFile)
    /// Close the control connection after the replies before it.
    case close
}

/// A data-connection transfer the state machine has checked and the connection carries out.
public enum FTPTransfer: Sendable, Equatable {
    case file(ServedFile, offset: UInt64)
    case listing(verb: String, bytes: [UInt8])
}

/// One control connection's protocol state. Pure: the policy is the only thing it calls, so every command
/// and edge case is unit-testable without a socket. Confined to its connection's thread.
public struct FTPSession {
    public let config: FTPConfig
    public let policy: any FTPAccessPolicy
    public let peer: PeerAddress
    /// A TLS context exists (AUTH TLS can be offered).
    public let tlsAvailable: Bool

    /// The control connection is TLS-protected (set by `tlsEstablished()`).
    public private(set) var secureControl = false
    public private(set) var pbszSeen = false
    /// PROT P: data connections are TLS too.
    public private(set) var protectData = false
    public private(set) var user: String?
    public private(set) var file: ServedFile?
    public internal(set) var restOffset: UInt64?
    /// A passive listener is open and waiting for its one data connection.
    public var passiveOpen = false
    public private(set) var loginFailures = 0
    public internal(set) var binary = true

    public init(config: FTPConfig, policy: any FTPAccessPolicy, peer: PeerAddress, tlsAvailable: Bool) {
        self.config = config
        self.policy = policy
        self.peer = peer
        self.tlsAvailable = tlsAvailable
    }

    /// TLS is required for login and data unless plain FTP is allowed.
    public var tlsRequired: Bool { !config.allowPlain }
    public var loggedIn: Bool { file != nil }

    /// The control handshake finished: RFC 4217 §4 resets the login state that came before it.
    public mutating func tlsEstablished() {
        secureControl = true
        user = nil
    }

    /// Handles a line that exceeded `maxLineBytes`: 500 and close (a client that sends one is not a real one).
    public func overlongLine() -> [FTPEffect] { [.reply(.lineTooLong), .close] }

    /// Handles one command line (without CRLF).
    public mutating func handle(line: some Collection<UInt8>) -> [FTPEffect] {
        guard let cmd = FTPCommand.parse(line) else {
            return [.reply(FTPReply(500, "Syntax error, command unrecognized."))]
        }
        return handle(cmd)
    }

    /// Commands allowed before login (RFC 4217 needs AUTH/PBSZ/PROT there; lftp sends FEAT and OPTS first).
    static let preLogin: Set<String> = [
        "USER", "PASS", "AUTH", "PBSZ", "PROT", "FEAT", "OPTS", "SYST", "NOOP", "QUIT", "HELP", "ABOR",
    ]

    public mutating func handle(_ cmd: FTPCommand) -> [FTPEffect] {
        let arg = cmd.argument
        if !loggedIn && !Self.preLogin.contains(cmd.verb) { return [.reply(.pleaseLogin)] }
        switch cmd.verb {
        case "AUTH": return auth(arg)
        case "PBSZ":
            guard secureControl else { return [.reply(FTPReply(503, "PBSZ needs AUTH TLS first."))] }
            guard !arg.isEmpty, arg.allSatisfy(\.isASCIIDigit) else { return [.reply(.syntaxError)] }
            pbszSeen = true
            return [.reply(FTPReply(200, "PBSZ=0"))]
        case "PROT": return prot(arg)
        case "USER": return userCommand(arg)
        case "PASS": return pass(arg)
        case "FEAT": return [.reply(FTPView.features(tls: tlsAvailable))]
        case "OPTS": return opts(arg)
        case "SYST": return [.reply(FTPReply(215, "UNIX Type: L8"))]
        case "NOOP": return [.reply(FTPReply(200, "NOOP ok."))]
        case "QUIT": return [.reply(.goodbye), .close]
        case "HELP":
            return [
                .reply(
                    FTPReply(
                        214,
                        lines: [
                            "Commands recognized:",
                            " AUTH PBSZ PROT USER PASS FEAT OPTS SYST TYPE MODE STRU PWD CWD CDUP SIZE MDTM REST RETR",
                            " EPSV PASV LIST NLST MLSD MLST ABOR NOOP HELP QUIT",
                            "Help OK.",
                        ]))
            ]
        case "ABOR":
            // Outside a transfer (a transfer's ABOR is handled while it runs): RFC 959 §4.1.3 → 225/226.
            restOffset = nil
            let wasOpen = passiveOpen
            passiveOpen = false
            return (wasOpen ? [.closePassive] : []) + [.reply(FTPReply(225, "No transfer to abort."))]
        default: return loggedInCommand(cmd.verb, arg)
        }
    }

    private mutating func auth(_ arg: String) -> [FTPEffect] {
        let mech = arg.uppercased()
        guard tlsAvailable else { return [.reply(FTPReply(502, "TLS is not configured on this server."))] }
        // curl tries AUTH SSL before AUTH TLS; both mean explicit TLS here (RFC 4217 §4, curl ftp.c).
        guard mech == "TLS" || mech == "SSL" || mech == "TLS-C" || mech == "TLS-P" else {
            return [.reply(FTPReply(504, "Unsupported security mechanism: use AUTH TLS."))]
        }
        guard !secureControl else { return [.reply(FTPReply(503, "Already using TLS."))] }
        return [.reply(FTPReply(234, "AUTH \(mech == "SSL" ? "SSL" : "TLS") successful.")), .startTLS]
    }

    private mutating func prot(_ arg: String) -> [FTPEffect] {
        guard secureControl else { return [.reply(FTPReply(503, "PROT needs AUTH TLS first."))] }
        guard pbszSeen else { return [.reply(FTPReply(503, "PROT needs PBSZ first."))] }
        switch arg.uppercased() {
        case "P":
            protectData = true
            return [.reply(FTPReply(200, "Protection level set to Private."))]
        case "C":
            // RFC 2228 §3 "534 Request denied for policy reasons": the image bytes must not travel in clear.
            guard !tlsRequired else {
                return [.reply(FTPReply(534, "Clear data connections are not allowed: use PROT P."))]
            }
            protectData = false
            return [.reply(FTPReply(200, "Protection level set to Clear."))]
        case "S", "E": return [.reply(FTPReply(536, "Protection level not supported: use PROT P."))]
        default: return [.reply(FTPReply(504, "Unknown protection level."))]
        }
    }

    private mutating func userCommand(_ arg: String) -> [FTPEffect] {
        guard !loggedIn else { return [.reply(FTPReply(503, "Already logged in."))] }
        // Refusing USER in clear keeps clients from ever sending the token (PASS) in clear.
        guard secureControl || !tlsRequired else { return [.reply(.tlsRequired)] }
        guard !arg.isEmpty else { return [.reply(.syntaxError)] }
        user = String(arg.prefix(64))
        return [.reply(FTPReply(331, "Send the download token as the password."))]
    }

    private mutating func pass(_ token: String) -> [FTPEffect] {
        guard !loggedIn else { return [.reply(FTPReply(503, "Already logged in."))] }
        guard secureControl || !tlsRequired else { return [.reply(.tlsRequired)] }
        guard user != nil else { return [.reply(FTPReply(503, "Login with USER first."))] }
        switch policy.authorize(token: token, secure: secureControl, peer: peer) {
        case .granted(let f):
            file = f
            return [.loggedIn(f), .reply(FTPReply(230, "Login successful: \(f.name) is the only file here."))]
        case .denied(let reason, let label, let message):
            loginFailures += 1
            user = nil
            let reply = message.map { FTPReply(530, $0) } ?? .loginIncorrect
            var out: [FTPEffect] = [.loginFailed(reason: reason, tokenLabel: label), .reply(reply)]
            if loginFailures >= config.maxLoginFailuresPerSession {
                out += [.reply(FTPReply(421, "Too many failed logins: closing control connection.")), .close]
            }
            return out
        }
    }

    private func opts(_ arg: String) -> [FTPEffect] {
        let up = arg.uppercased()
        if up == "UTF8 ON" || up == "UTF8" || up == "UTF-8 ON" {
            return [.reply(FTPReply(200, "Always in UTF8 mode."))]
        }
        if up.hasPrefix("MLST") { return [.reply(FTPReply(200, "MLST OPTS type;size;modify;perm;"))] }
        return [.reply(FTPReply(501, "Option not understood."))]
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
