//===----------------------------------------------------------------------===//
// ImageGate: the only form in which a download token may appear in a log.
//===----------------------------------------------------------------------===//
import GateCore

/// Turns a token into a log-safe label (PROTOCOLS §3.6: `/d/igt1.<kid>.<serial-hex>…/`).
///
/// The label carries the kid (which key) and the first 4 bytes of the serial (enough to find the token in
/// the catalog/audit, not enough to act as it), never any tag character and never the full serial.
/// It needs no key: a forged token gets a label too, which is fine, because the label grants nothing.
public enum TokenRedaction {
    /// `igt1.<8 hex kid>.<first 8 hex of serial>…` if the token is structurally valid; `igt1.?…` if it
    /// only starts with `igt1.`; otherwise `<redacted>`.
    public static func redact(_ token: Substring) -> String {
        if let parts = TokenCodec.split(token) {
            let kid = SigningKey.hex(TokenPayload.kid(parts.payload))
            let serialHead = Hex.encode(parts.payload[TokenPayload.serialOffset..<TokenPayload.serialOffset + 4])
            return "igt1.\(kid).\(serialHead)…"
        }
        if token.utf8.starts(with: TokenCodec.prefix.utf8) { return "igt1.?…" }
        return "<redacted>"
    }

    public static func redact(_ token: String) -> String { redact(token[...]) }

    /// Every `igt1.` token anywhere in `line` (any letter case, also `igt1%2E…` percent-encoded) replaced by
    /// its label: whatever path a client sent (`/D/<token>/f`, `/d/../d/<token>/f`, `/<token>`,
    /// `/console/<token>`) and whatever front logged it, no replayable token reaches a log (Docs/tokens.md).
    public static func redactTokens(in line: String) -> String {
        let bytes = Array(line.utf8)
        guard let first = markerStart(bytes, from: 0) else { return line }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var copied = 0
        var at: Int? = first
        while let start = at {
            out += bytes[copied..<start]
            let (end, text) = tokenRun(bytes, from: start)
            // Already a label (`igt1.<kid>.<serial head>…`, `igt1.?…`) or too short to be worth anything:
            // left alone, so redacting twice changes nothing.
            let ellipsis: [UInt8] = [0xE2, 0x80, 0xA6]
            let isLabel = bytes[end...].starts(with: ellipsis) || bytes[end...].starts(with: [UInt8(ascii: "?")] + ellipsis)
            out += isLabel || text.utf8.count < 5 + 16 ? Array(bytes[start..<end]) : Array(redact(text).utf8)
            copied = end
            at = markerStart(bytes, from: end)
        }
        out += bytes[copied...]
        return String(decoding: out, as: UTF8.self)
    }

    /// Where the next `igt1.` / `igt1%2e` (case-insensitive) starts.
    private static func markerStart(_ b: [UInt8], from: Int) -> Int? {
        var i = from
        while i + 5 <= b.count {
            if b[i] | 0x20 == UInt8(ascii: "i"), b[i + 1] | 0x20 == UInt8(ascii: "g"), b[i + 2] | 0x20 == UInt8(ascii: "t"),
                b[i + 3] == UInt8(ascii: "1"),
                b[i + 4] == UInt8(ascii: ".")
                    || (i + 7 <= b.count && b[i + 4] == UInt8(ascii: "%") && b[i + 5] == UInt8(ascii: "2")
                        && b[i + 6] | 0x20 == UInt8(ascii: "e"))
            {
                return i
            }
            i += 1
        }
        return nil
    }

    /// The token starting at `start`: the marker, then base64url characters, dots and `%2E`s. Returns the
    /// end and the text in canonical form (`igt1.` prefix, `%2E` as `.`) so a valid token gets its usual label.
    private static func tokenRun(_ b: [UInt8], from start: Int) -> (Int, Substring) {
        var i = start + (b[start + 4] == UInt8(ascii: ".") ? 5 : 7)
        var text = "igt1."
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "%"), i + 2 < b.count, b[i + 1] == UInt8(ascii: "2"), b[i + 2] | 0x20 == UInt8(ascii: "e") {
                text += "."
                i += 3
                continue
            }
            guard (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || c == 0x2D || c == 0x5F || c == 0x2E
            else { break }
            text.unicodeScalars.append(Unicode.Scalar(c))
            i += 1
        }
        return (i, text[...])
    }
}
