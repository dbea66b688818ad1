//===----------------------------------------------------------------------===//
// ImageGate: the commands of a logged-in FTP session: the one-file view, REST and the data commands.
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO

extension FTPSession {
    /// Read-only server: anything that would change the view is refused (Docs/protocols.md §6.1).
    static let writeVerbs: Set<String> = [
        "STOR", "STOU", "APPE", "DELE", "MKD", "XMKD", "RMD", "XRMD", "RNFR", "RNTO", "SMNT", "REIN",
    ]

    mutating func loggedInCommand(_ verb: String, _ arg: String) -> [FTPEffect] {
        guard let f = file else { return [.reply(.pleaseLogin)] }
        switch verb {
        case "TYPE":
            // Bytes are sent unmodified in every type, so SIZE and REST offsets always agree (vsftpd's
            // ascii_download_enable=NO behaviour).
            switch arg.uppercased() {
            case "I", "L 8", "L8":
                binary = true
                return [.reply(FTPReply(200, "Switching to Binary mode."))]
            case "A", "A N":
                binary = false
                return [.reply(FTPReply(200, "Switching to ASCII mode (bytes are still sent unmodified)."))]
            default: return [.reply(FTPReply(504, "Unsupported type."))]
            }
        case "MODE":
            return [.reply(arg.uppercased() == "S" ? FTPReply(200, "Mode set to S.") : FTPReply(504, "Only mode S."))]
        case "STRU":
            return [
                .reply(
                    arg.uppercased() == "F" ? FTPReply(200, "Structure set to F.") : FTPReply(504, "Only structure F."))
            ]
        case "PWD", "XPWD": return [.reply(FTPReply(257, "\"/\" is the current directory."))]
        case "CWD", "XCWD":
            guard !arg.isEmpty else { return [.reply(.syntaxError)] }
            return [
                .reply(
                    FTPView.resolve(arg, file: f, allowParent: true) == .root
                        ? FTPReply(250, "Directory successfully changed.")
                        : FTPReply(550, "Failed to change directory."))
            ]
        case "CDUP", "XCUP": return [.reply(FTPReply(250, "Directory successfully changed."))]
        case "SIZE":
            // RFC 3659 §4: the byte count of the file as it would be transferred (TYPE makes no difference here).
            return [
                .reply(
                    FTPView.resolve(arg, file: f) == .file
                        ? FTPReply(213, String(f.size)) : FTPReply(550, "Could not get file size."))
            ]
        case "MDTM":
            return [
                .reply(
                    FTPView.resolve(arg, file: f) == .file
                        ? FTPReply(213, TimeFormat.compact(f.modified))
                        : FTPReply(550, "Could not get modification time."))
            ]
        case "REST": return rest(arg)
        case "RETR": return retr(arg, f)
        case "PASV", "EPSV": return passive(verb, arg)
        case "LIST", "NLST", "MLSD": return list(verb, arg, f)
        case "MLST":
            switch FTPView.resolve(arg, file: f) {
            case .file:
                return [.reply(FTPReply(250, lines: ["Listing \(f.name)", " \(FTPView.facts(f)) /\(f.name)", "End"]))]
            case .root: return [.reply(FTPReply(250, lines: ["Listing /", " " + FTPView.rootFacts + " /", "End"]))]
            case .none: return [.reply(.noSuchFile)]
            }
        case "PORT", "EPRT", "LPRT":
            // FTP bounce (CVE-1999-0017, RFC 2577 §3): active mode is off altogether.
            return [.reply(.activeRefused)]
        case "ALLO": return [.reply(FTPReply(202, "ALLO not needed."))]
        case "STAT":
            guard arg.isEmpty else { return [.reply(.notImplemented)] }
            return [
                .reply(
                    FTPReply(
                        211, lines: ["ImageGate FTP status:", " Logged in, one file: \(f.name)", "End of status"]))
            ]
        case "SITE": return [.reply(FTPReply(502, "SITE commands are not supported."))]
        default:
            if Self.writeVerbs.contains(verb) { return [.reply(.readOnly)] }
            return [.reply(.notImplemented)]
        }
    }

    /// REST STREAM (RFC 3659 §5): a decimal offset. A number past the end is accepted here and refused by
    /// RETR (554), as vsftpd does; non-digits, signs and numbers beyond 64 bits are 501.
    private mutating func rest(_ arg: String) -> [FTPEffect] {
        guard !arg.isEmpty, arg.utf8.count <= 20, arg.allSatisfy(\.isASCIIDigit), let n = UInt64(arg) else {
            return [.reply(FTPReply(501, "REST requires a decimal byte offset."))]
        }
        restOffset = n
        return [.reply(FTPReply(350, "Restarting at \(n). Send RETR to continue."))]
    }

    /// The preconditions every data command shares: a passive listener and, unless plain is allowed,
    /// PROT P (vsftpd answers 522 here; RFC 4217 §9 leaves the code to policy).
    private func dataReady() -> FTPReply? {
        if tlsRequired && !protectData { return .protectData }
        if !passiveOpen { return .usePassive }
        return nil
    }

    private mutating func retr(_ arg: String, _ f: ServedFile) -> [FTPEffect] {
        let offset = restOffset ?? 0
        restOffset = nil  // RFC 3659 §5.3: a REST applies to the next transfer only.
        guard FTPView.resolve(arg, file: f) == .file else { return [.reply(.noSuchFile)] }
        if let r = dataReady() { return [.reply(r)] }
        guard policy.stillValid(f) else {
            return [
                .reply(
                    policy.refusalMessage(f, secure: secureControl, peer: peer).map { FTPReply(530, $0) }
                        ?? .linkInvalid), .close,
            ]
        }
        guard offset <= f.size else {
            return [.reply(FTPReply(554, "Restart offset \(offset) is beyond the end of the file (\(f.size) bytes)."))]
        }
        passiveOpen = false  // one data connection per PASV (Docs/protocols.md §6.3)
        return [.transfer(.file(f, offset: offset))]
    }

    private mutating func list(_ verb: String, _ arg: String, _ f: ServedFile) -> [FTPEffect] {
        let path = FTPView.resolve(FTPView.stripListOptions(arg), file: f)
        if path == .none { return [.reply(.noSuchFile)] }
        // RFC 3659 §7.1: MLSD names a directory; on a file it is 501.
        if verb == "MLSD" && path == .file { return [.reply(FTPReply(501, "MLSD needs a directory."))] }
        if let r = dataReady() { return [.reply(r)] }
        passiveOpen = false
        return [.transfer(.listing(verb: verb, bytes: FTPView.listing(verb, f, path)))]
    }

    private mutating func passive(_ verb: String, _ arg: String) -> [FTPEffect] {
        if verb == "EPSV" {
            let a = arg.uppercased()
            // RFC 2428 §4: EPSV ALL promises no PORT/PASV will follow; nothing to change here.
            if a == "ALL" { return [.reply(FTPReply(200, "EPSV ALL ok."))] }
            let family = peer.bytes.count == 16 ? "2" : "1"
            guard a.isEmpty || a == family else {
                return [.reply(FTPReply(522, "Network protocol not supported, use (\(family))"))]
            }
        } else if peer.bytes.count != 4 {
            return [.reply(FTPReply(425, "PASV needs IPv4: use EPSV."))]
        }
        let replacing = passiveOpen
        passiveOpen = true
        return (replacing ? [.closePassive] : []) + [.openPassive(extended: verb == "EPSV")]
    }
}
