//===----------------------------------------------------------------------===//
// ImageGate: ASCII byte classes used by the HTTP parser (RFC 9110 §5.6, RFC 3986)
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// Byte constants and character-class predicates. Everything works on `UInt8`: the parser never looks at
/// Unicode (RFC 9112 §2.2: "a recipient MUST parse an HTTP message as a sequence of octets").
enum ASCII {
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let percent: UInt8 = 0x25
    static let comma: UInt8 = 0x2C
    static let dot: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let colon: UInt8 = 0x3A
    static let question: UInt8 = 0x3F
    static let at: UInt8 = 0x40
    static let leftBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let rightBracket: UInt8 = 0x5D
    static let hash: UInt8 = 0x23
    static let star: UInt8 = 0x2A

    /// `tchar` bitmap for bytes 0-63 and 64-127 (RFC 9110 §5.6.2):
    /// "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
    /// A unit test recomputes both masks from that definition.
    static let tcharLow: UInt64 = 0x03FF_6CFA_0000_0000
    static let tcharHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// True for a token character; a two-word bitmap keeps this branch-light and free of global tables.
    @inline(__always)
    static func isTchar(_ b: UInt8) -> Bool {
        if b < 64 { return tcharLow & (1 &<< UInt64(b)) != 0 }
        if b < 128 { return tcharHigh & (1 &<< UInt64(b &- 64)) != 0 }
        return false
    }

    /// Visible ASCII allowed in a request-target. Whitespace, CTLs, DEL and non-ASCII are rejected (RFC 9112
    /// §3.2: no whitespace in the target); '#' is rejected because a fragment is never sent (RFC 9110 §7.1).
    @inline(__always)
    static func isTargetByte(_ b: UInt8) -> Bool {
        b > 0x20 && b < 0x7F && b != hash
    }

    /// field-vchar / obs-text (RFC 9110 §5.5): visible ASCII plus 0x80-0xFF; SP and HTAB are handled apart.
    @inline(__always)
    static func isFieldVChar(_ b: UInt8) -> Bool {
        b > 0x20 && b != 0x7F
    }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    @inline(__always)
    static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }

    /// Value of a hex digit, or nil.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b &- 0x30
        case 0x41...0x46: return b &- 0x41 &+ 10
        case 0x61...0x66: return b &- 0x61 &+ 10
        default: return nil
        }
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 {
        b >= 0x41 && b <= 0x5A ? b | 0x20 : b
    }

    /// unreserved / sub-delims (RFC 3986 §2.2, §2.3): the literal bytes of a reg-name host.
    static func isRegNameByte(_ b: UInt8) -> Bool {
        if isAlpha(b) || isDigit(b) { return true }
        switch b {
        case 0x2D, 0x2E, 0x5F, 0x7E: return true  // - . _ ~
        case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D: return true  // ! $ & ' ( ) * + , ; =
        default: return false
        }
    }

    /// The offset of the first `byte` in `buffer[from..<to]`, or `to` when there is none (glibc's vectorized
    /// `memchr`: the request target and its path are scanned for one byte at a time otherwise, issue 17).
    @inline(__always)
    static func find(_ byte: UInt8, in buffer: UnsafeRawBufferPointer, from: Int, to: Int) -> Int {
        guard from < to, let base = buffer.baseAddress, let hit = memchr(base + from, Int32(byte), to - from) else {
            return to
        }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// Whether every byte of `buffer[from..<to]` is a request-target byte, with no early exit (one flag or-ed
    /// over the bytes, which the compiler vectorizes).
    @inline(__always)
    static func allTargetBytes(_ buffer: UnsafeRawBufferPointer, from: Int, to: Int) -> Bool {
        var bad: UInt8 = 0
        for k in from..<to {
            let b = buffer[k]
            bad |= (b &- 0x21 > 0x5D ? 1 : 0) | (b == hash ? 1 : 0)
        }
        return bad == 0
    }
}
