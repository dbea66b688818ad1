//===----------------------------------------------------------------------===//
// ImageGate: image name validation and download file name sanitizing.
//===----------------------------------------------------------------------===//
import GateCore

extension ImageRecord {
    /// Longest accepted image name, in characters (grapheme clusters), after trimming.
    public static let maxNameLength = 255
    /// Longest sanitized stem of a download file name, before the extension.
    public static let maxFileStemLength = 200

    /// Validates a user-supplied image name and returns it trimmed.
    ///
    /// Names are display text, not identifiers (ids identify; duplicates are fine), so any printable
    /// Unicode is allowed. Control characters are refused because they corrupt terminals, logs and
    /// `Content-Disposition` headers; line/paragraph separators for the same reason.
    public static func validateName(_ raw: String) throws(GateError) -> String {
        let name = raw.trimmingUnicodeWhitespace()
        guard !name.isEmpty else { throw .invalid("image name must not be empty") }
        // Bytes and combining-mark runs as well as characters (TextBounds).
        if let why = TextBounds.problem(name, field: "image name", maxCharacters: maxNameLength) {
            throw .invalid(why)
        }
        for scalar in name.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator:
                throw .invalid("image name must not contain control characters")
            default:
                // Bidirectional overrides and isolates can make a name display as something it is not.
                if (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) {
                    throw .invalid("image name must not contain control characters")
                }
            }
            // Zero-width characters and bidirectional marks: two names that look alike must be alike.
            if TextBounds.isInvisibleInName(scalar) {
                throw .invalid(
                    "image name must not contain invisible or direction-changing characters (U+\(hex(scalar)))")
            }
        }
        return name
    }

    /// The download file name for an image: the name with every character outside `[A-Za-z0-9._-]`
    /// replaced by `_`, cut to 200 characters, never empty / "." / ".." (those become "image"), plus
    /// "." + the format's extension unless the stem already ends with it (case-insensitively).
    ///
    /// Why so strict: the result goes into `Content-Disposition`, FTP/SFTP listings and users' shells;
    /// a portable ASCII subset needs no quoting anywhere and cannot express a path.
    public static func downloadFileName(name: String, format: ImageFormat) -> String {
        var stem = ""
        for ch in name {
            if ch.isASCII, let a = ch.asciiValue, isFileNameByte(a) {
                stem.append(ch)
            } else {
                stem.append("_")
            }
            if stem.utf8.count == maxFileStemLength { break }
        }
        if stem.isEmpty || stem == "." || stem == ".." { stem = "image" }
        let suffix = "." + format.fileExtension
        if stem.lowercased().hasSuffix(suffix) && stem.count > suffix.count { return stem }
        return stem + suffix
    }

    private static func hex(_ s: Unicode.Scalar) -> String {
        let h = String(s.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    private static func isFileNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

}
