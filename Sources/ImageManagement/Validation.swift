//===----------------------------------------------------------------------===//
// ImageGate: the image patch and the validation of every free-text field the management API accepts.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

/// A partial update of an image's descriptive fields; nil = leave unchanged.
public struct ImagePatch: Sendable, Equatable {
    public var name: String?
    public var remarks: String?
    public var tags: [String]?
    public var projectGroup: String?

    public init(name: String? = nil, remarks: String? = nil, tags: [String]? = nil, projectGroup: String? = nil) {
        self.name = name
        self.remarks = remarks
        self.tags = tags
        self.projectGroup = projectGroup
    }

    public var isEmpty: Bool { name == nil && remarks == nil && tags == nil && projectGroup == nil }

    /// The patch with every field checked and normalized (names trimmed, tags de-duplicated in order).
    public func validated() throws(GateError) -> ImagePatch {
        ImagePatch(
            // validateName refuses controls, separators and bidirectional overrides ("Trojan Source"), for
            // imports and renames alike.
            name: try name.map { (n) throws(GateError) in try ImageRecord.validateName(n) },
            remarks: try remarks.map { (r) throws(GateError) in try TextRules.remarks(r) },
            tags: try tags.map { (t) throws(GateError) in try TextRules.tags(t) },
            projectGroup: try projectGroup.map { (g) throws(GateError) in
                try TextRules.label(g, field: "project group", max: 128, allowEmpty: true)
            })
    }
}

/// Rules for free text. All of it is data: stored as bound SQL parameters, never used as a path
/// (download file names are derived separately by `ImageRecord.downloadFileName`).
public enum TextRules {
    public static let maxRemarks = 1024
    public static let maxTags = 20
    public static let maxTagLength = 64
    public static let maxSearch = 256

    /// Remarks: at most 1024 characters and 4096 bytes, no long combining-mark runs (`TextBounds`); no
    /// control characters except line feed, no bidirectional controls.
    public static func remarks(_ text: String) throws(GateError) -> String {
        if let why = TextBounds.problem(text, field: "remarks", maxCharacters: maxRemarks) { throw .invalid(why) }
        for s in text.unicodeScalars where s != "\n" && (isControl(s) || TextBounds.isBidiControl(s)) {
            throw .invalid("remarks must not contain control characters")
        }
        return text
    }

    /// Tags: at most 20, each 1–64 characters of letters (any script), digits, space and `._:-`, not
    /// starting or ending with a space. Duplicates are dropped, first occurrence kept.
    public static func tags(_ tags: [String]) throws(GateError) -> [String] {
        var out: [String] = []
        for tag in tags where !out.contains(tag) {
            if let why = TextBounds.problem(tag, field: "a tag", maxCharacters: maxTagLength) { throw .invalid(why) }
            guard (1...maxTagLength).contains(tag.count) else {
                throw .invalid("a tag must be 1 to \(maxTagLength) characters long")
            }
            guard tag.first != " ", tag.last != " " else { throw .invalid("a tag must not start or end with a space") }
            for s in tag.unicodeScalars {
                let ok = s.properties.isAlphabetic || ("0"..."9").contains(s) || " ._:-".unicodeScalars.contains(s)
                guard ok, !isControl(s), !TextBounds.isInvisibleInName(s) else {
                    throw .invalid("a tag may hold only letters, digits, space and ._:-")
                }
            }
            out.append(tag)
        }
        guard out.count <= maxTags else { throw .invalid("an image has at most \(maxTags) tags") }
        return out
    }

    /// A short label (tenant, account, project group, search text): trimmed, at most `max` characters and
    /// 4 × `max` bytes, no long combining-mark runs, no control, invisible or direction-changing characters.
    public static func label(_ raw: String, field: String, max: Int, allowEmpty: Bool = false) throws(GateError)
        -> String
    {
        let text = raw.trimmingUnicodeWhitespace()
        guard allowEmpty || !text.isEmpty else { throw .invalid("\(field) must not be empty") }
        if let why = TextBounds.problem(text, field: field, maxCharacters: max) { throw .invalid(why) }
        guard !text.unicodeScalars.contains(where: isControl) else {
            throw .invalid("\(field) must not contain control characters")
        }
        guard !text.unicodeScalars.contains(where: TextBounds.isInvisibleInName) else {
            throw .invalid("\(field) must not contain invisible or direction-changing characters")
        }
        return text
    }

    /// An optional list filter (search text, tag, system type, architecture): nil stays nil; empty becomes nil.
    public static func filter(_ raw: String?, field: String) throws(GateError) -> String? {
        guard let raw else { return nil }
        let text = try label(raw, field: field, max: maxSearch, allowEmpty: true)
        return text.isEmpty ? nil : text
    }

    /// VM ids come from the compute service: 1–128 characters of `[A-Za-z0-9._:-]`.
    public static func vmID(_ id: String) throws(GateError) -> String {
        guard (1...128).contains(id.utf8.count),
            id.utf8.allSatisfy({ b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E
                    || b == 0x5F || b == 0x3A || b == 0x2D
            })
        else { throw .invalid("a VM id is 1 to 128 characters of A-Z a-z 0-9 . _ : -") }
        return id
    }

    /// Control characters, line/paragraph separators and bidirectional overrides (which can make a name
    /// display as something else, "Trojan Source").
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if (0x202A...0x202E).contains(s.value) || (0x2066...0x2069).contains(s.value) { return true }
        switch s.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

}
