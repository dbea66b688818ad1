//===----------------------------------------------------------------------===//
// ImageGate: the bounds every free-text field shares: characters and UTF-8 bytes, combining-mark runs,
// invisible characters in names (Docs/management.md "Text fields").
//===----------------------------------------------------------------------===//
import GateCore

/// A character count alone bounds nothing: one letter followed by 400 000 combining marks is one grapheme
/// cluster (800 KB that `String.count` calls "1"). So every field is bounded three ways, in this order
/// (cheapest first, so a huge input costs one length read):
/// 1. UTF-8 bytes ≤ 4 × the character limit (every scalar fits in 4 bytes, so real text of the allowed
///    length always passes);
/// 2. characters (grapheme clusters) ≤ the limit;
/// 3. no run of more than `maxCombiningRun` combining marks (no script needs more; Unicode's stream-safe
///    format, UAX #15, allows 30 as an absolute ceiling).
public enum TextBounds {
    public static let maxCombiningRun = 8

    /// nil if `text` fits, else the refusal message for `field`.
    public static func problem(_ text: String, field: String, maxCharacters: Int) -> String? {
        if text.utf8.count > maxCharacters * 4 {
            return "\(field) is longer than \(maxCharacters * 4) bytes (UTF-8)"
        }
        if text.count > maxCharacters { return "\(field) is longer than \(maxCharacters) characters" }
        var run = 0
        for s in text.unicodeScalars {
            switch s.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark:
                run += 1
                if run > maxCombiningRun {
                    return "\(field) has more than \(maxCombiningRun) combining marks in a row"
                }
            default: run = 0
            }
        }
        return nil
    }

    /// Characters that are invisible or reorder text, refused in names (image, tenant, account, project
    /// group, tag) so two names that look the same are the same: zero-width space/non-joiner/joiner
    /// (U+200B–U+200D), the bidirectional marks LRM, RLM and ALM (U+200E, U+200F, U+061C), embeddings,
    /// overrides and isolates (U+202A–U+202E, U+2066–U+2069), word joiner and invisible operators
    /// (U+2060–U+2064), the Mongolian vowel separator (U+180E) and the byte order mark (U+FEFF).
    public static func isInvisibleInName(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x200B...0x200F, 0x061C, 0x202A...0x202E, 0x2066...0x2069, 0x2060...0x2064, 0x180E, 0xFEFF: true
        default: false
        }
    }

    /// Bidirectional controls refused even in prose (remarks): marks, embeddings, overrides and isolates
    /// can make text display as something it is not ("Trojan Source"). Joiners stay: Persian and Indic
    /// prose needs ZWNJ/ZWJ.
    public static func isBidiControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x200E, 0x200F, 0x061C, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
