//===----------------------------------------------------------------------===//
// ImageGate: qcow2 header rules on crafted headers (Docs/protocols.md §4.3 and §4.5).
//===----------------------------------------------------------------------===//
import Testing
@testable import ImageInspection

/// One crafted header and the expected verdict (nil: accepted).
struct HeaderCase: Sendable, CustomStringConvertible {
    let name: String
    let expected: String?
    var allowEncrypted = false
    let edit: @Sendable (inout QCOW2Image) -> Void
    var description: String { name }
}

private let luksExtension: (type: UInt32, data: [UInt8]) = {
    var data: [UInt8] = []
    data.putBE(UInt64(0x40000), at: 0)
    data.putBE(UInt64(0x1000), at: 8)
    return (0x0537_BE77, data)
}()

let headerCases: [HeaderCase] = [
    HeaderCase(name: "valid v3", expected: nil) { _ in },
    HeaderCase(name: "valid v2 (compat=0.10)", expected: nil) { $0.version = 2 },
    HeaderCase(name: "version 1", expected: "qcow_v1") { $0.version = 1 },
    HeaderCase(name: "version 4", expected: "qcow2_bad_version") { $0.version = 4 },
    HeaderCase(name: "backing_file_offset set", expected: "qcow2_backing_file") {
        $0.backingFileOffset = 0x200
        $0.backingFileSize = 5
    },
    HeaderCase(name: "backing_file_size only", expected: "qcow2_backing_file") { $0.backingFileSize = 5 },
    HeaderCase(name: "cluster_bits 8", expected: "qcow2_bad_cluster_bits") { $0.clusterBits = 8 },
    HeaderCase(name: "cluster_bits 22", expected: "qcow2_bad_cluster_bits") { $0.clusterBits = 22 },
    HeaderCase(name: "size 2^63", expected: "qcow2_virtual_size_too_large") { $0.size = 1 << 63 },
    HeaderCase(name: "size 0", expected: "qcow2_corrupt") { $0.size = 0 },
    HeaderCase(name: "crypt_method 2 undeclared", expected: "qcow2_encrypted") { $0.cryptMethod = 2 },
    HeaderCase(name: "crypt_method 1 (AES)", expected: "qcow2_encrypted", allowEncrypted: true) {
        $0.cryptMethod = 1
    },
    HeaderCase(name: "crypt_method 3", expected: "qcow2_corrupt", allowEncrypted: true) { $0.cryptMethod = 3 },
    HeaderCase(name: "LUKS declared encrypted", expected: nil, allowEncrypted: true) {
        $0.cryptMethod = 2
        $0.extensions = [luksExtension]
        $0.fileSize = 0x41000
    },
    HeaderCase(name: "LUKS without FDE extension", expected: "qcow2_corrupt", allowEncrypted: true) {
        $0.cryptMethod = 2
    },
    HeaderCase(name: "LUKS header beyond the file", expected: "qcow2_tables_out_of_bounds", allowEncrypted: true) {
        $0.cryptMethod = 2
        $0.extensions = [luksExtension]
    },
    HeaderCase(name: "FDE extension undeclared", expected: "qcow2_encrypted") { $0.extensions = [luksExtension] },
    HeaderCase(name: "incompatible bit 0 (dirty)", expected: "qcow2_dirty") { $0.incompatible = 1 },
    HeaderCase(name: "incompatible bit 1 (corrupt)", expected: "qcow2_corrupt") { $0.incompatible = 1 << 1 },
    HeaderCase(name: "incompatible bit 2 (external data)", expected: "qcow2_external_data_file") {
        $0.incompatible = 1 << 2
    },
    HeaderCase(name: "incompatible bit 3 with zstd", expected: nil) {
        $0.incompatible = 1 << 3
        $0.compressionType = 1
    },
    HeaderCase(name: "incompatible bit 3 with zlib", expected: "qcow2_corrupt") { $0.incompatible = 1 << 3 },
    HeaderCase(name: "compression type 1 without bit 3", expected: "qcow2_corrupt") { $0.compressionType = 1 },
    HeaderCase(name: "compression type 2", expected: "qcow2_corrupt") {
        $0.incompatible = 1 << 3
        $0.compressionType = 2
    },
    HeaderCase(name: "incompatible bit 4 (extended L2)", expected: nil) { $0.incompatible = 1 << 4 },
    HeaderCase(name: "extended L2 with 4 KiB clusters", expected: "qcow2_bad_cluster_bits") {
        $0.incompatible = 1 << 4
        $0.clusterBits = 12
    },
    HeaderCase(name: "incompatible bit 7 (unknown)", expected: "qcow2_unknown_incompatible_feature") {
        $0.incompatible = 1 << 7
    },
    HeaderCase(name: "incompatible bit 63 (unknown)", expected: "qcow2_unknown_incompatible_feature") {
        $0.incompatible = 1 << 63
    },
    HeaderCase(name: "autoclear bit 0 (bitmaps)", expected: nil) { $0.autoclear = 1 },
    HeaderCase(name: "autoclear bit 1 (raw external data)", expected: "qcow2_external_data_file") {
        $0.autoclear = 1 << 1
    },
    HeaderCase(name: "compatible bit 0 (lazy refcounts)", expected: nil) { $0.compatible = 1 },
    HeaderCase(name: "refcount_order 7", expected: "qcow2_corrupt") { $0.refcountOrder = 7 },
    HeaderCase(name: "header_length 96", expected: "qcow2_corrupt") { $0.headerLength = 96 },
    HeaderCase(name: "header_length 108", expected: "qcow2_corrupt") { $0.headerLength = 108 },
    HeaderCase(name: "header_length 104", expected: nil) { $0.headerLength = 104 },
    HeaderCase(name: "l1_size*8 > 32 MiB", expected: "qcow2_l1_too_large") { $0.l1Size = 4 << 20 + 1 },
    HeaderCase(name: "L1 too small for size", expected: "qcow2_corrupt") { $0.l1Size = 1 },
    HeaderCase(name: "L1 offset unaligned", expected: "qcow2_corrupt") { $0.l1TableOffset = 0x30200 },
    HeaderCase(name: "L1 beyond end of file", expected: "qcow2_tables_out_of_bounds") {
        $0.fileSize = 0x30000 + 8
    },
    HeaderCase(name: "refcount table beyond end of file", expected: "qcow2_tables_out_of_bounds") {
        $0.refcountTableOffset = 0x40000
    },
    HeaderCase(name: "refcount table > 8 MiB", expected: "qcow2_refcount_table_too_large") {
        $0.refcountTableClusters = 129
    },
    HeaderCase(name: "refcount table offset unaligned", expected: "qcow2_corrupt") {
        $0.refcountTableOffset = 0x10008
    },
    HeaderCase(name: "one internal snapshot", expected: "qcow2_snapshots") { $0.nbSnapshots = 1 },
    HeaderCase(name: "70000 snapshots", expected: "qcow2_corrupt") { $0.nbSnapshots = 70000 },
    HeaderCase(name: "backing format extension", expected: "qcow2_backing_file") {
        $0.extensions = [(0xE279_2ACA, Array("qcow2".utf8))]
    },
    HeaderCase(name: "external data file extension", expected: "qcow2_external_data_file") {
        $0.extensions = [(0x4441_5441, Array("/etc/shadow".utf8))]
    },
    HeaderCase(name: "unknown extension skipped", expected: nil) {
        $0.extensions = [(0x1234_5678, [1, 2, 3]), (0x6803_F857, [UInt8](repeating: 0, count: 48))]
    },
    HeaderCase(name: "extension overrunning the first cluster", expected: "qcow2_corrupt") {
        $0.extensions = [(0x1234_5678, [UInt8](repeating: 0, count: 0x10000 - 112 - 8 + 8))]
    },
    HeaderCase(name: "truncated header", expected: "qcow2_corrupt") { $0.fileSize = 50 },
]

@Suite struct QCOW2HeaderTests {
    @Test("crafted qcow2 headers", arguments: headerCases)
    func crafted(_ testCase: HeaderCase) {
        var image = QCOW2Image()
        testCase.edit(&image)
        var limits = InspectionLimits()
        limits.allowEncrypted = testCase.allowEncrypted
        let outcome = inspect(image.bytes(), as: .qcow2, limits: limits)
        #expect(outcome.code == testCase.expected, "\(outcome)")
        if testCase.expected == nil {
            #expect(outcome.value?.virtualSize == image.size)
            #expect(outcome.value?.encrypted == (image.cryptMethod == 2))
        }
    }

    @Test("messages name the reason (Docs/protocols.md §4.3)")
    func messages() {
        var image = QCOW2Image()
        image.backingFileOffset = 0x200
        #expect(inspect(image.bytes(), as: .qcow2).failureMessage.contains("backing file not allowed"))
        image = QCOW2Image()
        image.incompatible = 1 << 2
        #expect(inspect(image.bytes(), as: .qcow2).failureMessage.contains("external data file not allowed"))
        image.incompatible = 1 << 7
        #expect(inspect(image.bytes(), as: .qcow2).failureMessage.contains("unknown qcow2 feature"))
        image.incompatible = 1
        #expect(inspect(image.bytes(), as: .qcow2).failureMessage.contains("qemu-img check -r all"))
        image = QCOW2Image()
        image.size = 1 << 63
        #expect(inspect(image.bytes(), as: .qcow2).failureMessage.contains("virtual size too large"))
        // An undeclared LUKS image: the refusal says how to declare it (CLI, console, API).
        image = QCOW2Image()
        image.cryptMethod = 2
        let luks = inspect(image.bytes(), as: .qcow2).failureMessage
        #expect(luks.contains("--encrypted") && luks.contains("\"encrypted\": true") && luks.contains("wizard"))
        image = QCOW2Image()
        image.extensions = [luksExtension]
        #expect(inspect(image.bytes(), as: .qcow2).failureMessage.contains("--encrypted"))
    }

    @Test("virtual size cap comes from the limits")
    func sizeCap() {
        let image = QCOW2Image()
        #expect(
            inspect(image.bytes(), as: .qcow2, limits: InspectionLimits(maxVirtualSize: 1 << 29)).code
                == "qcow2_virtual_size_too_large")
        #expect(inspect(image.bytes(), as: .qcow2, limits: InspectionLimits(maxVirtualSize: 1 << 30)).code == nil)
    }

    @Test("notes record version, cluster size and features")
    func notes() {
        var image = QCOW2Image()
        image.incompatible = 1 << 3
        image.compressionType = 1
        image.compatible = 1
        let notes = inspect(image.bytes(), as: .qcow2).value?.notes ?? []
        #expect(notes == ["qcow2 version 3", "cluster size 65536", "zstd compression", "lazy refcounts"])
    }
}

extension Outcome {
    var failureMessage: String {
        if case .failure(let failure) = self { return failure.message }
        return ""
    }
}
