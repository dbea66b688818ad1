//===----------------------------------------------------------------------===//
// ImageGate: 128-bit identifiers with a readable prefix (img-…, ten-…).
//===----------------------------------------------------------------------===//

/// 16 bytes, big-endian in two words. Tokens carry the raw bytes; users see `prefix-<32 hex>`.
public struct ID128: Hashable, Sendable, Comparable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var h: UInt64 = 0
        var l: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        high = h
        low = l
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16)
        for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: high >> UInt64(s))) }
        for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: low >> UInt64(s))) }
        return out
    }

    public var hex: String { Hex.encode(bytes) }

    public init?(hex: String) {
        guard hex.utf8.count == 32, let b = Hex.decode(hex.lowercased()) else { return nil }
        self.init(bytes: b)
    }

    public static func < (a: ID128, b: ID128) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

/// An image's stable resource id, `img-<32 hex>`.
public struct ImageID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let prefix = "img-"
    public var raw: ID128
    public init(_ raw: ID128) { self.raw = raw }
    public init?(_ text: String) {
        guard text.hasPrefix(Self.prefix), let r = ID128(hex: String(text.dropFirst(Self.prefix.count))) else {
            return nil
        }
        raw = r
    }
    public var description: String { Self.prefix + raw.hex }
    public static func < (a: ImageID, b: ImageID) -> Bool { a.raw < b.raw }
}

/// A tenant's id, `ten-<32 hex>`. The embedded default deployment has one tenant, `TenantID.defaultTenant`.
public struct TenantID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let prefix = "ten-"
    public static let defaultTenant = TenantID(ID128(high: 0, low: 1))
    public var raw: ID128
    public init(_ raw: ID128) { self.raw = raw }
    public init?(_ text: String) {
        guard text.hasPrefix(Self.prefix), let r = ID128(hex: String(text.dropFirst(Self.prefix.count))) else {
            return nil
        }
        raw = r
    }
    public var description: String { Self.prefix + raw.hex }
    public static func < (a: TenantID, b: TenantID) -> Bool { a.raw < b.raw }
}
