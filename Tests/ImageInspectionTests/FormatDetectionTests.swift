//===----------------------------------------------------------------------===//
// ImageGate: magic-number detection, foreign-format refusals, multiple formats and declared-kind matching.
//===----------------------------------------------------------------------===//
import GateCore
import Testing
@testable import ImageInspection

/// A 128 KiB zero image with `magic` written at `offset` (negative: from the end).
func planted(_ magic: [UInt8], at offset: Int, size: Int = 128 << 10) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: size)
    bytes.put(magic, at: offset >= 0 ? offset : size + offset)
    return bytes
}

struct MagicCase: Sendable, CustomStringConvertible {
    let name: String
    let magic: [UInt8]
    let offset: Int
    let expected: String?
    var description: String { name }
}

private func text(_ s: String) -> [UInt8] { Array(s.utf8) }

let magicCases: [MagicCase] = [
    MagicCase(name: "VMDK sparse KDMV", magic: text("KDMV"), offset: 0, expected: "vmdk"),
    MagicCase(name: "VMDK3 COWD", magic: text("COWD"), offset: 0, expected: "vmdk"),
    MagicCase(name: "VMDK descriptor", magic: text("# Disk DescriptorFile\nversion=1\n"), offset: 0, expected: "vmdk"),
    MagicCase(name: "VMDK descriptor, qemu probe", magic: text("# x\n   \nversion=2\r\n"), offset: 0, expected: "vmdk"),
    MagicCase(name: "text that is no descriptor", magic: text("# x\nhello\nversion=1\n"), offset: 0, expected: nil),
    MagicCase(name: "dynamic VHD", magic: text("conectix"), offset: 0, expected: "vhd"),
    MagicCase(name: "fixed VHD footer", magic: text("conectix"), offset: -512, expected: "vhd"),
    MagicCase(name: "511-byte VHD footer", magic: text("conectix"), offset: -511, expected: "vhd"),
    MagicCase(name: "conectix elsewhere", magic: text("conectix"), offset: -1024, expected: nil),
    MagicCase(name: "VHDX", magic: text("vhdxfile"), offset: 0, expected: "vhdx"),
    MagicCase(name: "VDI", magic: [0x7F, 0x10, 0xDA, 0xBE], offset: 0x40, expected: "vdi"),
    MagicCase(name: "QED", magic: text("QED\0"), offset: 0, expected: "qed"),
    MagicCase(name: "LUKS", magic: [0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE], offset: 0, expected: "luks"),
    MagicCase(name: "qcow v1", magic: [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 1], offset: 0, expected: "qcow_v1"),
    MagicCase(name: "tar", magic: text("ustar"), offset: 257, expected: "tar"),
    MagicCase(name: "gzip", magic: [0x1F, 0x8B, 0x08], offset: 0, expected: "gzip"),
    MagicCase(name: "1F 8B without deflate", magic: [0x1F, 0x8B, 0x00], offset: 0, expected: nil),
    MagicCase(name: "xz", magic: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], offset: 0, expected: "xz"),
    MagicCase(name: "zstd", magic: [0x28, 0xB5, 0x2F, 0xFD], offset: 0, expected: "zstd"),
    MagicCase(name: "bzip2", magic: text("BZh91AY&SY"), offset: 0, expected: "bzip2"),
    MagicCase(name: "BZh without block magic", magic: text("BZh9"), offset: 0, expected: nil),
    MagicCase(name: "zip", magic: [0x50, 0x4B, 0x03, 0x04], offset: 0, expected: "zip"),
    MagicCase(name: "empty zip", magic: [0x50, 0x4B, 0x05, 0x06], offset: 0, expected: "zip"),
    MagicCase(name: "MBR only (raw disk)", magic: [0x55, 0xAA], offset: 510, expected: nil),
    MagicCase(name: "GPT (raw disk)", magic: text("EFI PART"), offset: 512, expected: nil),
]

@Suite struct FormatDetectionTests {
    @Test("foreign formats are refused whatever the declared kind", arguments: magicCases)
    func foreign(_ testCase: MagicCase) {
        let bytes = planted(testCase.magic, at: testCase.offset)
        let raw = inspect(bytes, as: .raw)
        #expect(raw.code == testCase.expected, "\(raw)")
        if let expected = testCase.expected {
            // A footer is seen only at the end; by then a declared QCOW2 or ISO without its signature was refused.
            let footer = testCase.offset < 0
            #expect(inspect(bytes, as: .qcow2).code == (footer ? "kind_mismatch" : expected))
            #expect(inspect(bytes, as: .iso).code == (footer ? "not_iso" : expected))
        } else {
            #expect(raw.value?.virtualSize == UInt64(bytes.count))
        }
    }

    @Test("OVA: a tar whose first member is the .ovf descriptor")
    func ova() {
        var bytes = planted(text("ustar\u{0}00"), at: 257)
        bytes.put("appliance.ovf", at: 0)
        let outcome = inspect(bytes, as: .qcow2)
        #expect(outcome.code == "ova")
        #expect(outcome.failureMessage.contains("tar -xf appliance.ova"))
    }

    @Test(
        "refusals name the format and the conversion",
        arguments: [
            ("KDMV", "VMDK images are not accepted; convert it first: qemu-img convert -f vmdk -O qcow2"),
            ("conectix", "VHD images are not accepted; convert it first: qemu-img convert -f vpc -O qcow2"),
            ("vhdxfile", "VHDX images are not accepted; convert it first: qemu-img convert -f vhdx -O qcow2"),
            ("QED\0", "QED images are not accepted"),
        ])
    func refusalMessages(magic: String, message: String) {
        #expect(inspect(planted(text(magic), at: 0), as: .qcow2).failureMessage.hasPrefix(message))
    }

    @Test("compressed archives are refused, never decompressed (Docs/protocols.md §4.2)")
    func compressedMessage() {
        let message = inspect(planted([0x28, 0xB5, 0x2F, 0xFD], at: 0), as: .raw).failureMessage
        #expect(message.contains("zstd-compressed files are not accepted"))
        #expect(message.contains("unzstd"))
    }

    @Test("two formats in one file are refused")
    func multipleFormats() {
        var qcow = QCOW2Image().bytes()
        qcow.put("CD001", at: 0x8001)
        for kind in DeclaredKind.allCases {
            #expect(inspect(qcow, as: kind).code == "multiple_formats", "\(kind)")
        }
        #expect(inspect(qcow, as: .qcow2).failureMessage.contains("multiple formats detected (qcow2 + ISO 9660)"))
        var vmdk = ISOImage().bytes()
        vmdk.put("KDMV", at: 0)
        #expect(inspect(vmdk, as: .iso).code == "multiple_formats")
    }

    @Test("a partition table inside a qcow2 is a second format")
    func qcow2WithMBR() {
        var qcow = QCOW2Image().bytes()
        qcow.put([0x55, 0xAA], at: 510)
        #expect(inspect(qcow, as: .qcow2).code == "multiple_formats")
    }

    @Test("a VHD footer after a valid qcow2 is a second format")
    func qcow2WithVHDFooter() {
        var qcow = QCOW2Image().bytes()
        qcow.put("conectix", at: qcow.count - 512)
        #expect(inspect(qcow, as: .qcow2).code == "multiple_formats")
    }

    @Test(
        "declared kind must match the content",
        arguments: [
            ("qcow2", DeclaredKind.raw, "image declared RAW but contains a qcow2 header"),
            ("qcow2", DeclaredKind.iso, "image declared ISO but contains a qcow2 header"),
            ("iso", DeclaredKind.qcow2, "image declared QCOW2 but contains an ISO 9660 filesystem"),
            ("iso", DeclaredKind.raw, "image declared RAW but contains an ISO 9660 filesystem"),
            (
                "raw", DeclaredKind.qcow2,
                "image declared QCOW2 but has no qcow2 header (raw data?); convert the disk "
                    + "first: qemu-img convert -f raw -O qcow2 disk.img disk.qcow2"
            ),
        ])
    func kindMismatch(content: String, declared: DeclaredKind, message: String) {
        let bytes: [UInt8] =
            switch content {
            case "qcow2": QCOW2Image().bytes()
            case "iso": ISOImage().bytes()
            default: [UInt8](repeating: 0, count: 100_000)
            }
        let outcome = inspect(bytes, as: declared)
        #expect(outcome.code == "kind_mismatch")
        #expect(outcome.failureMessage == message)
    }

    @Test("a RAW upload carrying only a qcow2 magic is refused (CVE-2026-24708)")
    func rawWithBareMagic() {
        for size in [4, 8, 50, 4096] {
            let bytes = planted([0x51, 0x46, 0x49, 0xFB], at: 0, size: size)
            #expect(inspect(bytes, as: .raw).code == "kind_mismatch", "\(size) bytes")
        }
    }

    @Test("RAW: accepted with its byte size, partition tables noted, size capped")
    func raw() {
        let outcome = inspect(planted([0x55, 0xAA], at: 510), as: .raw)
        #expect(
            outcome.value
                == InspectionResult(
                    format: .raw, virtualSize: 128 << 10, encrypted: false, notes: ["MBR partition table"]))
        #expect(inspect([1, 2, 3], as: .raw).value?.virtualSize == 3)
        let zeros = [UInt8](repeating: 0, count: 4096)
        let capped = inspect(zeros, as: .raw, limits: InspectionLimits(maxVirtualSize: 4095))
        #expect(capped.code == "virtual_size_too_large")
    }

    @Test("an empty stream is refused", arguments: DeclaredKind.allCases)
    func empty(kind: DeclaredKind) {
        #expect(inspect([], as: kind).code == "empty")
    }

    @Test("finish with a size other than the bytes fed is a caller bug")
    func sizeMismatch() {
        var inspector = ImageInspector(declared: .raw)
        _ = inspector.feed([1, 2, 3])
        let outcome = inspector.finish(totalSize: 4)
        #expect(outcome.code == "stream_size_mismatch")
        if case .failure(let failure) = outcome { #expect(failure.gateError.code == .internal) }
    }
}
