//===----------------------------------------------------------------------===//
// ImageGate: canonical base64url without padding (RFC 4648 §5), and hex.
//===----------------------------------------------------------------------===//

public enum Base64URL {
    @usableFromInline static let alphabet = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    @usableFromInline static let reverse: [Int8] = {
        var r = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { r[Int(c)] = Int8(i) }
        return r
    }()

    @inlinable
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var it = bytes.makeIterator()
        while let b0 = it.next() {
            let b1 = it.next()
            let b2 = it.next()
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            if let b1 {
                out.append(alphabet[Int((b1 & 0x0f) << 2 | (b2 ?? 0) >> 6)])
                if let b2 { out.append(alphabet[Int(b2 & 0x3f)]) }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Strict decode: only `[A-Za-z0-9_-]`, no padding, length not ≡ 1 mod 4, unused trailing bits zero.
    /// Anything else is nil, so every byte string has exactly one accepted text form.
    @inlinable
    public static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        let n = text.count
        guard n % 4 != 1 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(n * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for c in text {
            let v = reverse[Int(c)]
            guard v >= 0 else { return nil }
            acc = (acc << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xff))
            }
        }
        // Leftover bits must be zero, else two texts would decode to the same bytes.
        if bits > 0 && (acc & ((1 << UInt32(bits)) - 1)) != 0 { return nil }
        return out
    }

    public static func decode(_ text: String) -> [UInt8]? { decode(Array(text.utf8)) }

    /// `decode` over bytes in place, the same rules and result: the table is read through one pointer and the
    /// output written into storage of the final size (a forged token's two parts are decoded per request before
    /// its MAC is checked; the generic form cost about 60 instructions per character, issue 17).
    public static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let n = text.count
        guard n % 4 != 1 else { return nil }
        var valid = true
        let out = reverse.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: n * 3 / 4) { buffer, initialized in
                var acc: UInt32 = 0
                var bits = 0
                var o = 0
                for c in text {
                    let v = table[Int(c)]
                    guard v >= 0 else {
                        valid = false
                        break
                    }
                    acc = (acc << 6) | UInt32(v)
                    bits += 6
                    if bits >= 8 {
                        bits -= 8
                        buffer[o] = UInt8(truncatingIfNeeded: acc >> UInt32(bits))
                        o += 1
                    }
                }
                initialized = o
                if bits > 0 && (acc & ((1 << UInt32(bits)) - 1)) != 0 { valid = false }
            }
        }
        return valid ? out : nil
    }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
    public static func decode(_ text: String) -> [UInt8]? {
        let s = Array(text.utf8)
        guard s.count % 2 == 0 else { return nil }
        func nib(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(s.count / 2)
        var i = 0
        while i < s.count {
            guard let h = nib(s[i]), let l = nib(s[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
