//===----------------------------------------------------------------------===//
// ImageGate: the 93-byte big-endian igt1 payload layout (Docs/protocols.md §3.2).
//===----------------------------------------------------------------------===//
import GateCore

/// Byte offsets of the igt1 payload. Fixed binary instead of JSON: no canonicalisation, no duplicate keys,
/// one byte string per claim set (Docs/protocols.md §3.2).
enum TokenPayload {
    static let version: UInt8 = 1
    static let length = 93
    static let tagLength = 32
    /// base64url lengths without padding: ceil(93*8/6) = 124, ceil(32*8/6) = 43.
    static let encodedLength = 124
    static let encodedTagLength = 43

    static let verOffset = 0
    static let kidOffset = 1
    static let tenantOffset = 5
    static let imageOffset = 21
    static let genOffset = 37
    static let serialOffset = 41
    static let iatOffset = 57
    static let expOffset = 65
    static let permsOffset = 73
    static let ipFamOffset = 75
    static let ipAddrOffset = 76
    static let ipPrefixOffset = 92

    /// Serialises claims. `kid` is taken from the argument, not from `claims`.
    static func encode(_ c: TokenClaims, kid: UInt32, version: UInt8 = TokenPayload.version) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(length)
        out.append(version)
        appendBE(&out, UInt64(kid), 4)
        out += c.tenant.raw.bytes
        out += c.image.raw.bytes
        appendBE(&out, UInt64(c.generation), 4)
        out += c.serial.bytes
        appendBE(&out, UInt64(bitPattern: c.issuedAt), 8)
        appendBE(&out, UInt64(bitPattern: c.expiresAt), 8)
        appendBE(&out, UInt64(c.protocols.rawValue), 2)
        if let ip = c.ipBinding {
            out.append(ip.family.rawValue)
            out += ip.address
            out += [UInt8](repeating: 0, count: 16 - ip.address.count)
            out.append(UInt8(ip.prefixLength))
        } else {
            out += [UInt8](repeating: 0, count: 18)
        }
        precondition(out.count == length)
        return out
    }

    /// The key id, readable before the MAC check because the keyring lookup needs it (§3.3 step 2).
    static func kid(_ p: [UInt8]) -> UInt32 { UInt32(truncatingIfNeeded: readBE(p, kidOffset, 4)) }
    static func kid(_ p: UnsafeBufferPointer<UInt8>) -> UInt32 {
        UInt32(p[kidOffset]) << 24 | UInt32(p[kidOffset + 1]) << 16 | UInt32(p[kidOffset + 2]) << 8
            | UInt32(p[kidOffset + 3])
    }

    enum FieldError: Error { case version, reserved, ipFields }

    /// Parses an *authenticated* payload (§3.3 step 4). Only the IP fields can be structurally wrong here.
    static func decode(_ p: [UInt8]) -> Result<TokenClaims, FieldError> {
        precondition(p.count == length)
        guard p[verOffset] == version else { return .failure(.version) }
        let perms = UInt16(truncatingIfNeeded: readBE(p, permsOffset, 2))
        guard perms & ProtocolSet.reservedMask == 0 else { return .failure(.reserved) }
        let ipAddr = Array(p[ipAddrOffset..<ipAddrOffset + 16])
        let ipLen = Int(p[ipPrefixOffset])
        var binding: IPPrefix?
        switch p[ipFamOffset] {
        case 0:
            guard ipLen == 0, ipAddr.allSatisfy({ $0 == 0 }) else { return .failure(.ipFields) }
        case let fam:
            guard let family = IPPrefix.Family(rawValue: fam) else { return .failure(.ipFields) }
            let n = family.byteCount
            guard ipAddr[n...].allSatisfy({ $0 == 0 }),
                let prefix = IPPrefix(family: family, address: Array(ipAddr[..<n]), prefixLength: ipLen),
                prefix.address.elementsEqual(ipAddr[..<n])  // host bits must already be zero: one wire form
            else { return .failure(.ipFields) }
            binding = prefix
        }
        let claims = TokenClaims(
            kid: kid(p),
            tenant: TenantID(ID128(bytes: p[tenantOffset..<tenantOffset + 16])!),
            image: ImageID(ID128(bytes: p[imageOffset..<imageOffset + 16])!),
            generation: UInt32(truncatingIfNeeded: readBE(p, genOffset, 4)),
            serial: ID128(bytes: p[serialOffset..<serialOffset + 16])!,
            issuedAt: Int64(bitPattern: readBE(p, iatOffset, 8)),
            expiresAt: Int64(bitPattern: readBE(p, expOffset, 8)),
            protocols: ProtocolSet(rawValue: perms),
            ipBinding: binding)
        return .success(claims)
    }

    static func appendBE(_ out: inout [UInt8], _ value: UInt64, _ count: Int) {
        for i in stride(from: count - 1, through: 0, by: -1) {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(i * 8)))
        }
    }

    static func readBE(_ p: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in offset..<offset + count { v = v << 8 | UInt64(p[i]) }
        return v
    }
}
