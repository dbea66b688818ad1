//===----------------------------------------------------------------------===//
// ImageGate: the options of a minted link (lifetime, protocols, client addresses, max_downloads, label).
//===----------------------------------------------------------------------===//
import DownloadTokens
import Foundation
import GateCore

/// What the person minting asks for (API body, CLI flags, console dialog), validated once here. Every field
/// is optional: nothing asked is the old behaviour (default lifetime, every protocol the server offers, any
/// address, no limit). Docs/links.md, "Mint options".
struct MintOptions: Sendable, Equatable {
    /// Seconds; nil: `tokens.default_ttl`.
    var ttl: Int64?
    /// Protocol names (`protocolNames`); nil: every one the server's link policy offers.
    var protocols: [String]?
    /// Client address prefixes; empty: any address.
    var allowedIPs: [IPPrefix] = []
    /// nil: unlimited.
    var maxDownloads: Int64?
    var label: String = ""

    /// The protocol names of the API and the CLI, in the order links list them. Each is granted on its own:
    /// `http` does not imply `https`.
    static let protocolNames = ["https", "http", "ftps", "ftp", "sftp"]
    static let maxAllowedIPs = 32
    static let maxLabelLength = 200

    static func protocols(_ names: [String]) throws(GateError) -> [String] {
        guard !names.isEmpty else { throw GateError.invalid("protocols must name at least one protocol") }
        for n in names where !protocolNames.contains(n) {
            throw GateError.invalid(
                "unknown protocol \(JSONText.quote(n)): expected \(protocolNames.joined(separator: ", "))")
        }
        return protocolNames.filter(names.contains)
    }

    static func allowedIPs(_ texts: [String]) throws(GateError) -> [IPPrefix] {
        guard texts.count <= maxAllowedIPs else {
            throw GateError.invalid("at most \(maxAllowedIPs) allowed_ips per link")
        }
        var out: [IPPrefix] = []
        for t in texts {
            guard let p = IPPrefix(cidr: t) else {
                throw GateError.invalid("allowed_ips: \(JSONText.quote(t)) is not an address or CIDR (203.0.113.0/24)")
            }
            if !out.contains(p) { out.append(p) }
        }
        return out
    }

    static func maxDownloads(_ n: Int64) throws(GateError) -> Int64 {
        guard (1...1_000_000).contains(n) else {
            throw GateError.invalid("max_downloads must be between 1 and 1000000")
        }
        return n
    }

    static func label(_ text: String) throws(GateError) -> String {
        guard text.unicodeScalars.count <= maxLabelLength else {
            throw GateError.invalid("label is longer than \(maxLabelLength) characters")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw GateError.invalid("label must be one line of text without control characters")
        }
        return text
    }

    /// The API's `ttl`: a duration text (`30m`, `24h`, `7d`, or seconds as digits).
    static func ttl(_ value: Any) throws(GateError) -> Int64 {
        guard let text = value as? String, let d = DurationText.parse(text), d > 0 else {
            throw GateError.invalid("ttl must be a duration like 30m, 24h or 7d")
        }
        return d
    }

    /// The options of an API body (single mint and bulk mint share the fields).
    static func from(_ body: JSONBody) throws(GateError) -> MintOptions {
        var o = MintOptions()
        if let t = body.raw["ttl"] { o.ttl = try ttl(t) }
        if let p = try body.strings("protocols") { o.protocols = try protocols(p) }
        if let a = try body.strings("allowed_ips") { o.allowedIPs = try allowedIPs(a) }
        if let m = body.raw["max_downloads"] {
            guard let n = m as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue == n.doubleValue.rounded()
            else { throw GateError.invalid("max_downloads must be a whole number") }
            o.maxDownloads = try maxDownloads(n.int64Value)
        }
        if let l = try body.string("label") { o.label = try label(l) }
        return o
    }

    /// The names this server can honour under its link policy, in `protocolNames` order.
    static func offered(by policy: LinkPolicy) -> [String] {
        var names = ["https"]
        if policy.plainHTTP { names.append("http") }
        if policy.ftp { names.append("ftps") }
        if policy.plainFTP { names.append("ftp") }
        names.append("sftp")
        return names
    }

    /// The granted names (asked ones, or everything offered) and the token bits that carry them. A name
    /// the server does not offer is refused, so a link never promises what its server refuses.
    func grant(under policy: LinkPolicy) throws(GateError) -> (names: [String], bits: ProtocolSet) {
        let offered = Self.offered(by: policy)
        let names = protocols ?? offered
        for n in names where !offered.contains(n) {
            throw GateError.invalid(
                "protocol \(n) is not offered by this server (it offers \(offered.joined(separator: ", ")))")
        }
        var bits: ProtocolSet = []
        for n in names {
            switch n {
            case "https": bits.insert(.http)
            // Plain HTTP and plain FTP need their TLS bit too (Docs/tokens.md); the catalog's names keep
            // `http` from opening HTTPS (DownloadAuthorizer).
            case "http": bits.formUnion([.http, .httpPlain])
            case "ftps": bits.insert(.ftps)
            case "ftp": bits.formUnion([.ftps, .ftpPlain])
            default: bits.insert(.sftp)
            }
        }
        return (names, bits)
    }
}
