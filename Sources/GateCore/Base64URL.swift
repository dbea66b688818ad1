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

    /// `decode` over bytes in place, the same rules and result, into storage of the final size.
    public static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count % 4 != 1 else { return nil }
        guard !text.isEmpty else { return [] }
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: decodedCount(text.count)) { buffer, initialized in
            valid = decode(text, into: buffer.baseAddress!)
            initialized = valid ? buffer.count : 0
        }
        return valid ? out : nil
    }

    /// Bytes a text of `n` characters decodes to (when `n % 4 != 1`).
    @inlinable public static func decodedCount(_ n: Int) -> Int { n * 3 / 4 }

    /// `decode` into `out` (room for `decodedCount(text.count)` bytes), no array made: four characters to three
    /// bytes per step, one table read each and one check per group (a well-formed forged token's two parts are
    /// decoded per request before its MAC is checked; a character at a time cost about 26 instructions per
    /// character, issue 17). False for every text `decode` refuses; `out` then holds garbage.
    public static func decode(_ text: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Bool {
        let n = text.count
        guard n % 4 != 1 else { return false }
        guard n > 0 else { return true }
        return reverseBytes.withUnsafeBufferPointer { tablePointer in
            let table = tablePointer.baseAddress!
            let input = text.baseAddress!
            // Valid values are 0...63: or-ing every value read and testing the top two bits catches any
            // character outside the alphabet (0xFF in the table) once, at the end.
            var seen: UInt8 = 0
            var i = 0
            var o = 0
            while i + 4 <= n {
                let a = table[Int(input[i])]
                let b = table[Int(input[i + 1])]
                let c = table[Int(input[i + 2])]
                let d = table[Int(input[i + 3])]
                seen |= a | b | c | d
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                out[o] = UInt8(truncatingIfNeeded: v >> 16)
                out[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                out[o + 2] = UInt8(truncatingIfNeeded: v)
                i += 4
                o += 3
            }
            switch n - i {
            case 2:
                let a = table[Int(input[i])]
                let b = table[Int(input[i + 1])]
                seen |= a | b
                // 12 bits for one byte: the last character's low 4 bits must be zero (one text per byte string).
                if seen & 0xC0 != 0 || b & 0x0F != 0 { return false }
                out[o] = a << 2 | b >> 4
            case 3:
                let a = table[Int(input[i])]
                let b = table[Int(input[i + 1])]
                let c = table[Int(input[i + 2])]
                seen |= a | b | c
                // 18 bits for two bytes: the low 2 bits must be zero.
                if seen & 0xC0 != 0 || c & 0x03 != 0 { return false }
                let v = UInt32(a) << 10 | UInt32(b) << 4 | UInt32(c) >> 2
                out[o] = UInt8(truncatingIfNeeded: v >> 8)
                out[o + 1] = UInt8(truncatingIfNeeded: v)
            default:
                break
            }
            return seen & 0xC0 == 0
        }
    }

    /// `reverse` as bytes, 0xFF outside the alphabet (for the grouped decoder's single check).
    static let reverseBytes: [UInt8] = reverse.map { UInt8(bitPattern: $0) }
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
