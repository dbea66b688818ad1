//===----------------------------------------------------------------------===//
// ImageGate: an IPv4/IPv6 network prefix a token may be bound to.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// A network prefix such as `203.0.113.0/24` or `2001:db8::/32` (the `ipfam`/`ipaddr`/`ipplen` fields of
/// Docs/protocols.md §3.2). Host bits are always zero, so one prefix has exactly one wire form.
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    /// The `ipfam` byte: 4 or 6.
    public enum Family: UInt8, Sendable, Hashable {
        case v4 = 4
        case v6 = 6

        /// Address length in bytes.
        public var byteCount: Int { self == .v4 ? 4 : 16 }
        /// Largest prefix length.
        public var maxPrefix: Int { self == .v4 ? 32 : 128 }
    }

    public let family: Family
    /// 4 or 16 bytes, network order, host bits zero.
    public let address: [UInt8]
    /// 0...32 or 0...128.
    public let prefixLength: Int

    /// Validates lengths and clears host bits (`203.0.113.5/24` becomes `203.0.113.0/24`).
    public init?(family: Family, address: [UInt8], prefixLength: Int) {
        guard address.count == family.byteCount, prefixLength >= 0, prefixLength <= family.maxPrefix else {
            return nil
        }
        self.family = family
        self.address = Self.masked(address, prefixLength)
        self.prefixLength = prefixLength
    }

    /// Parses `a.b.c.d/n`, `v6addr/n`, or a bare address (a single host: /32 or /128).
    /// Uses `inet_pton`, which rejects the octal and short IPv4 forms `inet_aton` would accept.
    public init?(cidr: String) {
        let parts = cidr.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count <= 2, let host = parts.first, !host.isEmpty, host.utf8.count <= 64 else { return nil }
        let family: Family
        var buf = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, String(host), &buf) == 1 {
            family = .v4
            buf = Array(buf.prefix(4))
        } else if inet_pton(AF_INET6, String(host), &buf) == 1 {
            family = .v6
        } else {
            return nil
        }
        var length = family.maxPrefix
        if parts.count == 2 {
            let digits = Array(parts[1].utf8)
            // Digits only, no sign, no leading zero: one accepted spelling per length.
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                digits.count == 1 || digits[0] != 48, let n = Int(String(parts[1]))
            else { return nil }
            length = n
        }
        self.init(family: family, address: buf, prefixLength: length)
    }

    /// Whether a client address (4 or 16 bytes) lies inside the prefix. IPv4-mapped IPv6 peers
    /// (`::ffff:a.b.c.d`, as dual-stack sockets report IPv4 clients) match IPv4 prefixes and vice versa.
    public func contains(_ peer: [UInt8]) -> Bool {
        let candidate: [UInt8]
        switch (family, peer.count) {
        case (.v4, 4), (.v6, 16):
            candidate = peer
        case (.v4, 16):
            guard peer.prefix(12).elementsEqual(Self.mappedPrefix) else { return false }
            candidate = Array(peer.suffix(4))
        case (.v6, 4):
            candidate = Self.mappedPrefix + peer
        default:
            return false
        }
        return Self.masked(candidate, prefixLength) == address
    }

    /// `203.0.113.0/24`, `2001:db8::/32`.
    public var description: String {
        var text = [CChar](repeating: 0, count: 64)
        let af = family == .v4 ? AF_INET : AF_INET6
        guard inet_ntop(af, address, &text, socklen_t(text.count)) != nil else { return "?/\(prefixLength)" }
        let bytes = text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self) + "/\(prefixLength)"
    }

    static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

    static func masked(_ bytes: [UInt8], _ prefixLength: Int) -> [UInt8] {
        var out = bytes
        for i in out.indices {
            let keep = prefixLength - i * 8
            if keep >= 8 { continue }
            out[i] = keep <= 0 ? 0 : out[i] & UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
        return out
    }
}
