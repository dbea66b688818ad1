//===----------------------------------------------------------------------===//
// ImageGate: IPv4/IPv6 CIDR ranges and address text, for the SSRF checks of URL import.
//===----------------------------------------------------------------------===//

import Glibc

/// An IPv4 or IPv6 network in CIDR form (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1` = `/32`).
///
/// Addresses are raw network-order bytes: 4 for IPv4, 16 for IPv6. An IPv4 range also matches the
/// IPv4-mapped IPv6 form of its addresses (`::ffff:a.b.c.d`), and an IPv6 range inside `::ffff:0:0/96`
/// matches the plain IPv4 addresses it maps, so a v4 allow-list entry covers both socket families.
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    /// Network bytes with host bits cleared (4 or 16 bytes).
    public let network: [UInt8]
    /// Prefix length in bits (0...32 or 0...128).
    public let prefixLength: Int

    /// Parses `address` or `address/prefix`. Text must be canonical numeric form for `inet_pton`
    /// (dotted quad for IPv4: no octal, hex or short forms — those are what SSRF payloads use).
    /// Host bits are cleared: `10.1.2.3/8` equals `10.0.0.0/8`. Returns nil for anything else.
    public init?(cidr: String) {
        let parts = cidr.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddressText.parse(String(parts[0])) else { return nil }
        var prefix = address.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 0, p <= address.count * 8, !parts[1].hasPrefix("+") else { return nil }
            prefix = p
        }
        self.init(network: address, prefixLength: prefix)
    }

    init(network address: [UInt8], prefixLength: Int) {
        var masked = address
        for i in 0..<masked.count {
            let bitsInByte = max(0, min(8, prefixLength - i * 8))
            masked[i] &= bitsInByte == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bitsInByte))
        }
        self.network = masked
        self.prefixLength = prefixLength
    }

    /// Whether `address` (4 or 16 raw bytes) lies in this range, across the v4 / v4-mapped-v6 forms.
    public func contains(_ address: [UInt8]) -> Bool {
        if address.count == network.count { return Self.prefixMatches(address, network, prefixLength) }
        if network.count == 4, address.count == 16, let v4 = IPAddressText.unmapped(address) {
            return Self.prefixMatches(v4, network, prefixLength)
        }
        if network.count == 16, address.count == 4 {
            return Self.prefixMatches(IPAddressText.mapped(address), network, prefixLength)
        }
        return false
    }

    public var description: String { "\(IPAddressText.format(network))/\(prefixLength)" }

    private static func prefixMatches(_ a: [UInt8], _ net: [UInt8], _ bits: Int) -> Bool {
        var remaining = bits
        var i = 0
        while remaining > 0 {
            let take = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - take))
            if a[i] & mask != net[i] & mask { return false }
            remaining -= take
            i += 1
        }
        return true
    }
}

/// Numeric address text ⇄ bytes, strict (`inet_pton`/`inet_ntop`).
enum IPAddressText {
    /// Strict numeric parse: dotted-quad IPv4 or RFC 4291 IPv6 text (no brackets, no zone id).
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// `inet_ntop` text of 4 or 16 bytes; IPv6 in its compressed form (`::ffff:10.0.0.1`).
    static func format(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else nil.
    static func unmapped(_ v6: [UInt8]) -> [UInt8]? {
        guard v6.count == 16, v6[0..<10].allSatisfy({ $0 == 0 }), v6[10] == 0xFF, v6[11] == 0xFF else { return nil }
        return Array(v6[12..<16])
    }

    static func mapped(_ v4: [UInt8]) -> [UInt8] {
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + v4
    }
}
