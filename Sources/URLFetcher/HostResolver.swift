//===----------------------------------------------------------------------===//
// ImageGate: resolving an import host ourselves and checking every address before libcurl connects.
//===----------------------------------------------------------------------===//

import Glibc

/// The addresses one hop may connect to: checked here, then pinned into libcurl with CURLOPT_RESOLVE and
/// enforced again per socket by CURLOPT_OPENSOCKETFUNCTION (Docs/protocols.md §4.1 "resolve the host yourself …
/// connect only to the validated address (pin)"). Because libcurl never resolves the name itself, a DNS
/// answer that changes between check and connect (rebinding, TTL 0) cannot reach the connection.
struct PinnedHost: Sendable {
    let addresses: [[UInt8]]

    /// The CURLOPT_RESOLVE entry `host:port:addr,addr` (IPv6 addresses bracketed, per the curl docs).
    func resolveEntry(for target: FetchTarget) -> String {
        let list = addresses.map { $0.count == 16 ? "[\(IPAddressText.format($0))]" : IPAddressText.format($0) }
        return "\(target.lookupName):\(target.port):\(list.joined(separator: ","))"
    }

    func contains(_ address: [UInt8]) -> Bool { addresses.contains(address) }
}

enum HostResolver {
    /// Resolves `target`'s host with getaddrinfo and refuses the hop if **any** address is refused by
    /// `DestinationCheck` — a name answering with one public and one private address is not tried on the
    /// public one only, because libcurl (happy eyeballs) may pick either (Docs/protocols.md §4.1 "reject if any").
    ///
    /// getaddrinfo hands IPv4 literals to inet_aton, which reads the legacy numeric forms (`2130706433`,
    /// `0177.0.0.1`, `127.1`, `0x7f.1`); libcurl's URL parser normalises them the same way, so the address
    /// checked is the address libcurl would connect to, whatever spelling the URL used.
    static func pin(_ target: FetchTarget, policy: FetchPolicy) throws(FetchFailure) -> PinnedHost {
        try validate(try resolve(target.lookupName), for: target, policy: policy)
    }

    /// The "refuse if any" rule over one resolution result.
    static func validate(_ addresses: [[UInt8]], for target: FetchTarget, policy: FetchPolicy) throws(FetchFailure)
        -> PinnedHost
    {
        guard !addresses.isEmpty else {
            throw FetchFailure(code: "connect_failed", message: "\(target.lookupName) has no address")
        }
        for address in addresses {
            if let why = DestinationCheck.refusal(for: address, policy: policy) {
                throw .refused("\(target.redacted): \(why)")
            }
        }
        return PinnedHost(addresses: addresses)
    }

    /// All distinct IPv4/IPv6 addresses of `name`, in resolver order.
    static func resolve(_ name: String) throws(FetchFailure) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(name, nil, &hints, &list)
        guard rc == 0 else {
            let why = String(cString: gai_strerror(rc))
            throw FetchFailure(code: "connect_failed", message: "cannot resolve \(name): \(why)")
        }
        defer { freeaddrinfo(list) }
        var out: [[UInt8]] = []
        var node = list
        while let info = node {
            if let bytes = addressBytes(info.pointee.ai_addr, family: info.pointee.ai_family), !out.contains(bytes) {
                out.append(bytes)
            }
            node = info.pointee.ai_next
        }
        return out
    }

    private static func addressBytes(_ sa: UnsafeMutablePointer<sockaddr>?, family: Int32) -> [UInt8]? {
        guard let sa else { return nil }
        switch family {
        case AF_INET:
            return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                withUnsafeBytes(of: p.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) }
            }
        default:
            return nil
        }
    }
}
