//===----------------------------------------------------------------------===//
// ImageGate: the `perms` bit set of a download token (which front ends may serve it).
//===----------------------------------------------------------------------===//

/// The protocols a token may be used with: the `perms` field of the igt1 payload (Docs/protocols.md §3.2, offset 73).
///
/// A front end passes the bits it *needs* to `TokenCodec.verify`; the token must carry all of them.
/// Plain-text HTTP therefore asks for `[.http, .httpPlain]`, TLS HTTP for `.http` alone, so a token with
/// only `.httpPlain` is useless (it must carry `.http` too). Bits outside `all` are reserved and must be 0.
public struct ProtocolSet: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// HTTP GET/HEAD over TLS (bit 0).
    public static let http = ProtocolSet(rawValue: 1 << 0)
    /// SFTP, token as SSH password (bit 1).
    public static let sftp = ProtocolSet(rawValue: 1 << 1)
    /// FTP with AUTH TLS before PASS (bit 2).
    public static let ftps = ProtocolSet(rawValue: 1 << 2)
    /// FTP without TLS: the token crosses the network in clear text (bit 3).
    public static let ftpPlain = ProtocolSet(rawValue: 1 << 3)
    /// Plain-text HTTP allowed (bit 4); only meaningful together with `.http`.
    public static let httpPlain = ProtocolSet(rawValue: 1 << 4)

    /// Every defined bit. Anything else in `perms` is rejected as `reservedBits` (Docs/protocols.md §3.3 step 4).
    public static let all: ProtocolSet = [.http, .sftp, .ftps, .ftpPlain, .httpPlain]

    /// Bits that must be zero on the wire.
    static let reservedMask: UInt16 = ~all.rawValue

    /// `http,sftp` — for audit lines and CLI output.
    public var description: String {
        var names: [String] = []
        if contains(.http) { names.append("http") }
        if contains(.sftp) { names.append("sftp") }
        if contains(.ftps) { names.append("ftps") }
        if contains(.ftpPlain) { names.append("ftp-plain") }
        if contains(.httpPlain) { names.append("http-plain") }
        if rawValue & Self.reservedMask != 0 { names.append("reserved") }
        return names.isEmpty ? "none" : names.joined(separator: ",")
    }
}
