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
}
