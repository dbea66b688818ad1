//===----------------------------------------------------------------------===//
// ImageGate: minimal JSON string escaping for log lines written on hot paths (no Foundation there).
//===----------------------------------------------------------------------===//

public enum JSONText {
    /// Returns `s` as a quoted JSON string literal.
    public static func quote(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count + 2)
        appendQuoted(s, to: &out)
        return out
    }

    /// Appends `s` to `out` as a quoted JSON string literal: `"` and `\` escaped, control characters and DEL
    /// as `\n`, `\r`, `\t` or `\u00xx`, everything else as it is.
    public static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        // Most values (peers, paths, outcome words) need no escape: append them in one piece.
        if !s.utf8.contains(where: needsEscape) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7f {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    private static func needsEscape(_ b: UInt8) -> Bool {
        b < 0x20 || b == 0x22 || b == 0x5c || b == 0x7f
    }
}
