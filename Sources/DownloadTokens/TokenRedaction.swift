//===----------------------------------------------------------------------===//
// ImageGate: the only form in which a download token may appear in a log.
//===----------------------------------------------------------------------===//
import GateCore

/// Turns a token into a log-safe label (Docs/protocols.md §3.6: `/d/igt1.<kid>.<serial-hex>…/`).
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
        guard var start = markerStart(bytes, from: 0) else { return line }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var copied = 0
        while true {
            out += bytes[copied..<start]
            let (end, text) = tokenRun(bytes, from: start)
            // Already a label (`igt1.<kid>.<serial head>…`, `igt1.?…`) or too short to be worth anything:
            // left alone, so redacting twice changes nothing.
            if isLabelEnd(bytes, end) || text.utf8.count < TokenCodec.prefix.utf8.count + 16 {
                out += bytes[start..<end]
            } else {
                out += Array(redact(text).utf8)
            }
            copied = end
            guard let next = markerStart(bytes, from: end) else { break }
            start = next
        }
        out += bytes[copied...]
        return String(decoding: out, as: UTF8.self)
    }

    private static let ellipsis: [UInt8] = [0xE2, 0x80, 0xA6]

    private static func isLabelEnd(_ b: [UInt8], _ end: Int) -> Bool {
        b[end...].starts(with: ellipsis) || b[end...].starts(with: [UInt8(ascii: "?")] + ellipsis)
    }

    private static func lower(_ byte: UInt8) -> UInt8 { byte | 0x20 }

    /// `%2E` / `%2e` at `i`.
    private static func isEncodedDot(_ b: [UInt8], _ i: Int) -> Bool {
        i + 2 < b.count && b[i] == UInt8(ascii: "%") && b[i + 1] == UInt8(ascii: "2") && lower(b[i + 2]) == 0x65
    }

    /// Where the next `igt1.` / `igt1%2e` (case-insensitive) starts.
    private static func markerStart(_ b: [UInt8], from: Int) -> Int? {
        var i = from
        while i + 5 <= b.count {
            let head =
                lower(b[i]) == 0x69 && lower(b[i + 1]) == 0x67 && lower(b[i + 2]) == 0x74
                && b[i + 3] == UInt8(ascii: "1")
            if head && (b[i + 4] == UInt8(ascii: ".") || isEncodedDot(b, i + 4)) { return i }
            i += 1
        }
        return nil
    }

    /// base64url characters and the dot: what a token is made of.
    private static func isTokenByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (lower(c) >= 0x61 && lower(c) <= 0x7A) || c == 0x2D || c == 0x5F || c == 0x2E
    }

    /// The token starting at `start`: the marker, then token bytes and `%2E`s. Returns the end and the text in
    /// canonical form (`igt1.` prefix, `%2E` as `.`) so a valid token gets its usual label.
    private static func tokenRun(_ b: [UInt8], from start: Int) -> (Int, Substring) {
        var i = start + (b[start + 4] == UInt8(ascii: ".") ? 5 : 7)
        var text = TokenCodec.prefix
        while i < b.count {
            if isEncodedDot(b, i) {
                text += "."
                i += 3
            } else if isTokenByte(b[i]) {
                text.unicodeScalars.append(Unicode.Scalar(b[i]))
                i += 1
            } else {
                break
            }
        }
        return (i, text[...])
    }
}
