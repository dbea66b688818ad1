//===----------------------------------------------------------------------===//
// ImageGate: which peer addresses an import may connect to (Docs/protocols.md §4.1 block list + admin allow-list).
//===----------------------------------------------------------------------===//

/// The one place that decides whether an import may open a socket to an address. It is consulted twice
/// for every connection: before libcurl is started (on every address the host name resolves to, so a
/// name with one public and one private address is refused) and again from CURLOPT_OPENSOCKETFUNCTION on
/// the address libcurl actually connects to, including FTP data connections.
enum DestinationCheck {
    /// Docs/protocols.md §4.1 "Block (IPv4)": private, loopback, link-local (incl. the 169.254.169.254 metadata
    /// service), CGNAT, IETF special-purpose, documentation, benchmarking, multicast and reserved space.
    static let blockedV4: [AddressRange] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    ].map { AddressRange(cidr: $0)! }

    /// Docs/protocols.md §4.1 "(IPv6)". `::/96` covers `::`, `::1` and the deprecated IPv4-compatible form;
    /// `::ffff:0:0/96` (IPv4-mapped) is refused as a whole unless allow-listed (a v4 allow-list entry covers
    /// its mapped form, see `AddressRange.contains`). `2001::/23` is the IETF protocol block (Teredo tunnels
    /// hide an arbitrary IPv4 peer); `fc00::/7` includes fd00:ec2::254 (the AWS IPv6 metadata service), listed
    /// again so the intent survives edits. NAT64 `64:ff9b::/96` and 6to4 `2002::/16` are not here: their
    /// embedded IPv4 address is judged instead (DNS64 networks legitimately resolve public hosts to them).
    static let blockedV6: [AddressRange] = [
        "::/96", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20",
        "fc00::/7", "fd00:ec2::254/128", "fe80::/10", "fec0::/10", "ff00::/8",
    ].map { AddressRange(cidr: $0)! }

    /// nil when `address` may be connected to under `policy`, else the reason it may not.
    ///
    /// Order: the admin deny-list always wins (the gateway's own and management addresses); then an
    /// allow-listed range lifts the default block; then the Docs/protocols.md §4.1 block list, applied to the
    /// address and to any IPv4 address embedded in it (NAT64, 6to4).
    static func refusal(for address: [UInt8], policy: FetchPolicy) -> String? {
        let forms = [address] + embeddedV4(address)
        for form in forms where policy.deniedRanges.contains(where: { $0.contains(form) }) {
            return "address \(IPAddressText.format(form)) is on the administrator's deny list"
        }
        if policy.allowedPrivateRanges.contains(where: { $0.contains(address) }) { return nil }
        for form in forms {
            let list = form.count == 4 ? blockedV4 : blockedV6
            if let range = list.first(where: { $0.contains(form) }),
                !policy.allowedPrivateRanges.contains(where: { $0.contains(form) })
            {
                return "address \(IPAddressText.format(form)) is in blocked range \(range)"
            }
        }
        return nil
    }

    /// IPv4 addresses carried inside an IPv6 address that the network would route to: NAT64 (RFC 6052
    /// well-known prefix 64:ff9b::/96) and 6to4 (RFC 3056, 2002:AABB:CCDD::/48).
    static func embeddedV4(_ address: [UInt8]) -> [[UInt8]] {
        guard address.count == 16 else { return [] }
        if address[0...11].elementsEqual([0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]) {
            return [Array(address[12..<16])]
        }
        if address[0] == 0x20, address[1] == 0x02 { return [Array(address[2..<6])] }
        return []
    }
}
