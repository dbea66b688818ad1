//===----------------------------------------------------------------------===//
// ImageGate: settings for several nodes on one catalog: the node id and the public addresses of the
// SFTP and FTP fronts (what a balancer in front of the nodes answers on).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import ImageCatalog

/// A public address as links (and FTP's 227 reply) give it: a host name or IP address, with the port the
/// balancer listens on, or without one (then the node's own listener port).
struct PublicHost: Sendable, Equatable {
    var host: String
    var port: UInt16?

    /// `HOST`, `HOST:PORT`, `[IPV6]` or `[IPV6]:PORT`.
    init?(_ text: String) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty {
                port = nil
            } else {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()), p > 0 else { return nil }
                port = p
            }
            guard host.contains(":") else { return nil }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }  // an IPv6 address needs brackets
            host = String(parts[0])
            if parts.count == 2 {
                guard let p = UInt16(parts[1]), p > 0 else { return nil }
                port = p
            } else {
                port = nil
            }
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:")
        guard !host.isEmpty, host.count <= 253, host.allSatisfy({ allowed.contains($0) }) else { return nil }
    }

    /// `host:port` for a URL, the port being `port` or else `listenerPort`.
    func address(listenerPort: UInt16) -> String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(h):\(port ?? listenerPort)"
    }

    /// The IPv4 address a 227 reply carries: the host itself when it is one, else its first IPv4 address
    /// from the resolver (once, when the server starts). nil when it has none.
    func ipv4() -> [UInt8]? {
        var addr = in_addr()
        if inet_pton(AF_INET, host, &addr) == 1 { return withUnsafeBytes(of: &addr) { Array($0) } }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &res) == 0, let ai = res else { return nil }
        defer { freeaddrinfo(res) }
        guard let sa = ai.pointee.ai_addr else { return nil }
        return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
            var a = sin.pointee.sin_addr
            return withUnsafeBytes(of: &a) { Array($0) }
        }
    }

    static func parse(_ v: String, key: String) throws(GateError) -> PublicHost? {
        if v.isEmpty { return nil }
        guard let h = PublicHost(v) else {
            throw GateError.usage(
                "\(key): expected HOST or HOST:PORT (a name or an address; IPv6 in brackets), got \(v)")
        }
        return h
    }
}

extension Settings {
    /// This node's id: `node.id`, else the host name (LeaseHolder.hostName).
    var effectiveNodeID: String { nodeID.isEmpty ? LeaseHolder.hostName : nodeID }
}

extension SettingKey {
    static let cluster: [SettingKey] = [
        SettingKey(
            name: "node.id", defaultText: "",
            help: "This node's name in a shared catalog, unique per host (empty: the host name). Import leases name it."
        ) { s, v throws(GateError) in
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
            guard v.count <= 64, v.allSatisfy({ allowed.contains($0) }) else {
                throw GateError.usage(
                    "node.id: expected up to 64 letters, digits, '.', '-' or '_', got \(JSONText.quote(v))")
            }
            s.nodeID = v
        },
        SettingKey(
            name: "sftp.public_host", defaultText: "",
            help: "HOST[:PORT] minted SFTP links name, e.g. the balancer's (empty: this node's SFTP listener)."
        ) { s, v throws(GateError) in s.sftpPublicHost = try PublicHost.parse(v, key: "sftp.public_host") },
        SettingKey(
            name: "ftp.public_host", defaultText: "",
            help: "HOST[:PORT] minted FTP links name, and the IPv4 address of 227 replies (empty: this node's own)."
        ) { s, v throws(GateError) in s.ftp.publicHost = try PublicHost.parse(v, key: "ftp.public_host") },
    ]
}
