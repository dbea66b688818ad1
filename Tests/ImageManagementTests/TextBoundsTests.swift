//===----------------------------------------------------------------------===//
// ImageGate: text fields are bounded in bytes and characters, and names hold no invisible characters
// (issue #11 items 14 and 21).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Testing
@testable import ImageManagement

@Suite struct TextBoundsTests {
    /// One letter and 400 000 combining marks is one grapheme cluster: 800 KB that a character count calls "1".
    static let zalgo = "a" + String(repeating: "\u{0301}", count: 400_000)

    private func refused(_ body: () throws -> Void) -> Bool {
        do {
            try body()
            return false
        } catch let error as GateError {
            return error.code == .invalidRequest
        } catch {
            return false
        }
    }

    @Test func oneLetterWithManyCombiningMarksIsRefusedEverywhere() {
        #expect(refused { _ = try ImageRecord.validateName(Self.zalgo) })
        #expect(refused { _ = try TextRules.remarks(Self.zalgo) })
        #expect(refused { _ = try TextRules.tags([Self.zalgo]) })
        #expect(refused { _ = try TextRules.label(Self.zalgo, field: "tenant name", max: 128) })
        #expect(refused { _ = try ImagePatch(projectGroup: Self.zalgo).validated() })
    }

    @Test func aShortRunOfCombiningMarksIsRefusedWhileRealScriptsPass() throws {
        // Nine marks on one letter: no script needs that.
        #expect(refused { _ = try ImageRecord.validateName("x" + String(repeating: "\u{0301}", count: 9)) })
        #expect(refused { _ = try TextRules.remarks("ok " + String(repeating: "\u{0308}", count: 9)) })
        for name in ["Tiếng Việt 22.04", "हिन्दी सर्वर", "עִבְרִית", "Ελληνικά", "中文镜像", "café ü"] {
            #expect(try ImageRecord.validateName(name) == name)
            #expect(try TextRules.label(name, field: "tenant name", max: 128) == name)
        }
    }

    @Test func utf8BytesAreBoundedAsWellAsCharacters() throws {
        // 255 four-byte characters are 1020 bytes: allowed; the byte bound is 4 × the character bound.
        let emoji = String(repeating: "😀", count: 255)
        #expect(try ImageRecord.validateName(emoji) == emoji)
        #expect(refused { _ = try ImageRecord.validateName(String(repeating: "😀", count: 256)) })
        // Characters made of several scalars count their bytes: 255 flags are 255 "characters" but 2040 bytes.
        #expect(refused { _ = try ImageRecord.validateName(String(repeating: "🇩🇪", count: 255)) })
        #expect(refused { _ = try TextRules.remarks(String(repeating: "🇩🇪", count: 1000)) })
        let flags = String(repeating: "🇩🇪", count: 100)
        #expect(refused { _ = try TextRules.label(flags, field: "account name", max: 128) })
    }

    @Test(arguments: [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x061C, 0x2060, 0xFEFF, 0x180E, 0x202E, 0x2066])
    func invisibleAndBidiCharactersAreRefusedInNames(_ value: UInt32) {
        let s = "Cent" + String(Unicode.Scalar(value)!) + "OS"
        #expect(refused { _ = try ImageRecord.validateName(s) })
        #expect(refused { _ = try TextRules.label(s, field: "tenant name", max: 128) })
        #expect(refused { _ = try TextRules.tags([s]) })
        #expect(refused { _ = try ImagePatch(projectGroup: s).validated() })
    }

    @Test func remarksMayHoldJoinersButNotBidiMarks() throws {
        #expect(try TextRules.remarks("نامه‌ها") == "نامه‌ها")  // ZWNJ in Persian prose
        #expect(refused { _ = try TextRules.remarks("a\u{200E}b") })
        #expect(refused { _ = try TextRules.remarks("a\u{061C}b") })
    }
}
