//===----------------------------------------------------------------------===//
// ImageGate: the read-only view: a root directory holding one file; path resolution and listings.
//===----------------------------------------------------------------------===//
import GateCore

/// What a path argument names in the one-file view.
public enum FTPPath: Sendable, Equatable {
    case root
    case file
    case none
}

public enum FTPView {
    /// Resolves a path against the view `/` + `name`. The view has no other directories and no escapes:
    /// `/`, `.`, `` (empty) and `~` are the root; `name`, `/name`, `./name` the file. `..` is clamped at the
    /// root only where `allowParent` (CWD: `CWD ../..` stays at `/`); for file commands any `..`, backslash
    /// or NUL names nothing, so `RETR ../../etc/passwd` and `SIZE /etc/passwd` are 550.
    public static func resolve(_ argument: String, name: String, allowParent: Bool = false) -> FTPPath {
        if argument.contains("\\") || argument.utf8.contains(0) { return .none }
        var parts: [Substring] = []
        for (i, c) in argument.split(separator: "/", omittingEmptySubsequences: true).enumerated() {
            switch c {
            case ".": continue
            case "~" where i == 0 && !argument.hasPrefix("/"): continue
            case "..":
                guard allowParent else { return .none }
                if !parts.isEmpty { parts.removeLast() }
            default: parts.append(c)
            }
        }
        if parts.isEmpty { return .root }
        if parts.count == 1 && parts[0] == name[...] { return .file }
        return .none
    }

    /// `resolve` against the file's name and then its other names (a renamed image keeps the name its link
    /// was minted with).
    public static func resolve(_ argument: String, file: ServedFile, allowParent: Bool = false) -> FTPPath {
        let path = resolve(argument, name: file.name, allowParent: allowParent)
        guard path == .none else { return path }
        for other in file.otherNames where resolve(argument, name: other, allowParent: allowParent) == .file {
            return .file
        }
        return .none
    }

    /// LIST's argument may start with `ls` options (`LIST -la`, `LIST -a /`): they are ignored (§6.3).
    public static func stripListOptions(_ argument: String) -> String {
        var rest = Substring(argument)
        while rest.hasPrefix("-") {
            let end = rest.firstIndex(of: " ") ?? rest.endIndex
            rest = rest[end...].drop(while: { $0 == " " })
        }
        return String(rest)
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// One `ls -l` line, the form every client's LIST parser knows (vsftpd's layout, year form of the date).
    public static func listLine(_ f: ServedFile) -> String {
        let c = TimeFormat.compact(f.modified)
        let a = Array(c.utf8)
        func num(_ r: Range<Int>) -> Int { Int(String(decoding: a[r], as: UTF8.self)) ?? 0 }
        let month = months[max(0, min(11, num(4..<6) - 1))]
        let day = String(decoding: a[6..<8], as: UTF8.self)
        let year = String(decoding: a[0..<4], as: UTF8.self)
        var size = String(f.size)
        if size.count < 12 { size = String(repeating: " ", count: 12 - size.count) + size }
        return "-r--r--r--    1 ftp      ftp      \(size) \(month) \(day)  \(year) \(f.name)"
    }

    /// RFC 3659 §7.2 facts: `type=file;size=N;modify=YYYYMMDDHHMMSS;perm=r;`.
    public static func facts(_ f: ServedFile) -> String {
        "type=file;size=\(f.size);modify=\(TimeFormat.compact(f.modified));perm=r;"
    }

    static let rootFacts = "type=dir;perm=el;"

    /// The data-connection body of LIST, NLST or MLSD for a path already resolved.
    public static func listing(_ verb: String, _ f: ServedFile, _ path: FTPPath) -> [UInt8] {
        let line: String
        switch verb {
        case "NLST": line = f.name
        case "MLSD": line = facts(f) + " " + f.name
        default: line = listLine(f)
        }
        return path == .none ? [] : Array((line + "\r\n").utf8)
    }

    /// FEAT (RFC 2389 §3.2), listing only what is implemented (Docs/protocols.md §6.1).
    public static func features(tls: Bool) -> FTPReply {
        var lines = ["Features:"]
        if tls { lines += [" AUTH TLS", " PBSZ", " PROT"] }
        lines += [
            " SIZE", " MDTM", " REST STREAM", " EPSV", " PASV", " MLST type*;size*;modify*;perm*;", " UTF8",
            "End",
        ]
        return FTPReply(211, lines: lines)
    }
}
