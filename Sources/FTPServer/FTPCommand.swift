//===----------------------------------------------------------------------===//
// ImageGate: one FTP command line: Telnet noise removed, verb and argument split, secrets redacted.
//===----------------------------------------------------------------------===//

/// A command as received: the verb upper-cased, the argument verbatim (file names may hold spaces).
public struct FTPCommand: Sendable, Equatable {
    public var verb: String
    public var argument: String

    public init(verb: String, argument: String = "") {
        self.verb = verb
        self.argument = argument
    }

    /// Parses one line without its CRLF. Telnet commands are dropped first: lftp and others send
    /// `IAC IP IAC DM` before ABOR (RFC 959 §4.1.3), and with the DM byte sent urgent it is not even in the
    /// stream, leaving a lone IAC. Returns nil for a line that is not text (NUL, other control bytes).
    public static func parse(_ raw: some Collection<UInt8>) -> FTPCommand? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var skipNext = false
        for b in raw {
            if skipNext {
                skipNext = false
                if b >= 0xF0 && b != 0xFF { continue }
            }
            if b == 0xFF {
                // IAC: dropped with the command byte after it; no verb or file name of ours holds 0xFF.
                skipNext = true
                continue
            }
            bytes.append(b)
        }
        guard !bytes.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) else { return nil }
        while let f = bytes.first, f == 0x20 { bytes.removeFirst() }
        let space = bytes.firstIndex(of: 0x20) ?? bytes.endIndex
        let verbBytes = bytes[..<space]
        guard !verbBytes.isEmpty, verbBytes.count <= 8, verbBytes.allSatisfy({ isLetter($0) }) else {
            return nil
        }
        let verb = String(decoding: verbBytes, as: UTF8.self).uppercased()
        let argument = space < bytes.endIndex ? String(decoding: bytes[(space + 1)...], as: UTF8.self) : ""
        return FTPCommand(verb: verb, argument: argument)
    }

    private static func isLetter(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    /// The command as it may appear in a log: PASS carries the token, so only its length is shown.
    public var loggable: String {
        if verb == "PASS" { return "PASS <\(argument.utf8.count) bytes redacted>" }
        return argument.isEmpty ? verb : "\(verb) \(String(argument.prefix(200)))"
    }
}
