//===----------------------------------------------------------------------===//
// ImageGate: tests of format sniffing, name validation, file name sanitizing and JSON shape.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog
import Testing

@Suite struct FormatSniffingTests {
    @Test func qcow2Magic() {
        var head = [UInt8](repeating: 0, count: 512)
        head[0...3] = [0x51, 0x46, 0x49, 0xFB]
        #expect(ImageFormat.sniff(head) == .qcow2)
        #expect(ImageFormat.sniff([0x51, 0x46, 0x49, 0xFB]) == .qcow2)
    }

    @Test func isoMagicAt0x8001() {
        var head = [UInt8](repeating: 0, count: 64 * 1024)
        head[0x8000] = 1
        head.replaceSubrange(0x8001..<0x8006, with: Array("CD001".utf8))
        #expect(ImageFormat.sniff(head) == .iso)
        // Exactly long enough to hold the magic.
        #expect(ImageFormat.sniff(Array(head[0..<0x8006])) == .iso)
    }

    @Test func everythingElseIsRaw() {
        #expect(ImageFormat.sniff([]) == .raw)
        #expect(ImageFormat.sniff([0x51, 0x46, 0x49]) == .raw)  // truncated qcow2 magic
        #expect(ImageFormat.sniff(Array("QFI!".utf8)) == .raw)
        var wrongOffset = [UInt8](repeating: 0, count: 64 * 1024)
        wrongOffset.replaceSubrange(0x8000..<0x8005, with: Array("CD001".utf8))
        #expect(ImageFormat.sniff(wrongOffset) == .raw)
        var mbr = [UInt8](repeating: 0, count: 512)
        mbr[510] = 0x55
        mbr[511] = 0xAA
        #expect(ImageFormat.sniff(mbr) == .raw)
    }

    @Test func extensions() {
        #expect(ImageFormat.qcow2.fileExtension == "qcow2")
        #expect(ImageFormat.iso.fileExtension == "iso")
        #expect(ImageFormat.raw.fileExtension == "img")
    }
}

@Suite struct NameTests {
    @Test(arguments: [
        ("ubuntu", ImageFormat.qcow2, "ubuntu.qcow2"),
        ("ubuntu.qcow2", .qcow2, "ubuntu.qcow2"),
        ("Ubuntu.QCOW2", .qcow2, "Ubuntu.QCOW2"),
        ("ubuntu.qcow2", .raw, "ubuntu.qcow2.img"),
        ("disk.img", .raw, "disk.img"),
        ("debian 12 (netinst)", .iso, "debian_12__netinst_.iso"),
        ("../../etc/passwd", .raw, ".._.._etc_passwd.img"),
        ("a/b\\c", .raw, "a_b_c.img"),
        ("日本語", .iso, "___.iso"),
        ("café", .raw, "caf_.img"),
        ("", .raw, "image.img"),
        (".", .raw, "image.img"),
        ("..", .qcow2, "image.qcow2"),
        ("...", .raw, "....img"),
        ("x;rm -rf $HOME", .raw, "x_rm_-rf__HOME.img"),
        ("a\"b'c\r\nd", .raw, "a_b_c_d.img"),
        ("ok-name_1.2", .iso, "ok-name_1.2.iso"),
    ])
    func downloadFileName(name: String, format: ImageFormat, expected: String) {
        #expect(ImageRecord.downloadFileName(name: name, format: format) == expected)
    }

    @Test func fileNameStemIsCappedAt200() {
        let long = String(repeating: "a", count: 500)
        let result = ImageRecord.downloadFileName(name: long, format: .qcow2)
        #expect(result == String(repeating: "a", count: 200) + ".qcow2")
        let unicode = String(repeating: "é", count: 300)
        let expected = String(repeating: "_", count: 200) + ".iso"
        #expect(ImageRecord.downloadFileName(name: unicode, format: .iso) == expected)
    }

    @Test func validNamesAreTrimmed() throws {
        #expect(try ImageRecord.validateName("  Ubuntu 24.04 LTS \n") == "Ubuntu 24.04 LTS")
        #expect(try ImageRecord.validateName("日本語のイメージ") == "日本語のイメージ")
        #expect(try ImageRecord.validateName(String(repeating: "x", count: 255)).count == 255)
    }

    @Test(arguments: [
        "", "   ", "\n\t", "bad\u{0}name", "bad\u{1B}[31mname", "line\nbreak", "del\u{7F}",
        "sep\u{2028}x", "gpj.\u{202E}exe", "iso\u{2066}late", String(repeating: "x", count: 256),
    ])
    func invalidNames(_ name: String) {
        #expect(throws: GateError.self) { try ImageRecord.validateName(name) }
    }
}

@Suite struct RecordCodingTests {
    @Test func jsonRoundTripUsesTextIDs() throws {
        var record = sampleRecord()
        record.failureReason = "why"
        let data = try JSONEncoder().encode(record)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"id\":\"img-"))
        #expect(text.contains("\"tenant\":\"ten-00000000000000000000000000000001\""))
        #expect(try JSONDecoder().decode(ImageRecord.self, from: data) == record)
    }

    @Test func badIDIsRejected() throws {
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(sampleRecord())) as! [String: Any]
        json["id"] = "img-nothex"
        let data = try JSONSerialization.data(withJSONObject: json)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ImageRecord.self, from: data) }
    }
}

@Suite struct ImageQueryTests {
    private func message(_ q: ImageQuery, maxOffset: Int? = nil) -> String? {
        do {
            try q.checkPage(maxOffset: maxOffset)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func pageBoundsAreCheckedWithTheMessagesUsersSee() {
        var q = ImageQuery()
        #expect(message(q) == nil)
        q.limit = 0
        #expect(message(q) == "limit must be between 1 and 500")
        q.limit = ImageQuery.maxLimit + 1
        #expect(message(q) == "limit must be between 1 and 500")
        q.limit = ImageQuery.maxLimit
        q.offset = -1
        #expect(message(q) == "offset must not be negative")
        #expect(message(q, maxOffset: 10) == "offset must be between 0 and 10")
        q.offset = 11
        #expect(message(q) == nil)
        #expect(message(q, maxOffset: 10) == "offset must be between 0 and 10")
        q.offset = 10
        #expect(message(q, maxOffset: 10) == nil)
    }

    @Test func statusListLeavesOutDeletedUnlessAsked() {
        var q = ImageQuery()
        #expect(q.statusListText == ",making,uploading,available,failed,deleting,")
        q.statuses = [.deleted, .failed]
        #expect(q.statusListText == ",deleted,failed,")
    }

    @Test func orderClauseBreaksTiesByIDInTheSameDirection() {
        var q = ImageQuery()
        #expect(q.orderClause(column: "size") == " ORDER BY size DESC, id DESC")
        q.descending = false
        #expect(q.orderClause(column: "lower(name)") == " ORDER BY lower(name) ASC, id ASC")
    }
}
