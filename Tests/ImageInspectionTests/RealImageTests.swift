//===----------------------------------------------------------------------===//
// ImageGate: images made by the real tools (qemu-img, xorriso, compressors), each inspected as it would stream in.
//===----------------------------------------------------------------------===//
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ImageInspection

/// One image made by `qemu-img create` and the expected verdict for a declared kind.
struct QemuCase: Sendable, CustomStringConvertible {
    let name: String
    let arguments: [String]
    let file: String
    let declared: DeclaredKind
    let expected: String?
    var allowEncrypted = false
    var description: String { name }
}

let qemuCases: [QemuCase] = [
    QemuCase(
        name: "qcow2 v3", arguments: ["-f", "qcow2", "d.qcow2", "1G"], file: "d.qcow2", declared: .qcow2,
        expected: nil),
    QemuCase(
        name: "qcow2 v2 (compat=0.10)", arguments: ["-f", "qcow2", "-o", "compat=0.10", "d.qcow2", "1G"],
        file: "d.qcow2", declared: .qcow2, expected: nil),
    QemuCase(
        name: "qcow2 2 MiB clusters, zstd, extended L2, lazy refcounts",
        arguments: [
            "-f", "qcow2", "-o", "cluster_size=2M,compression_type=zstd,extended_l2=on,lazy_refcounts=on",
            "d.qcow2", "20G",
        ], file: "d.qcow2", declared: .qcow2, expected: nil),
    QemuCase(
        name: "qcow2 with backing file", arguments: ["-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "d.qcow2"],
        file: "d.qcow2", declared: .qcow2, expected: "qcow2_backing_file"),
    QemuCase(
        name: "qcow2 with external data file",
        arguments: ["-f", "qcow2", "-o", "data_file=data.raw", "d.qcow2", "64M"], file: "d.qcow2",
        declared: .qcow2, expected: "qcow2_external_data_file"),
    QemuCase(
        name: "qcow2 LUKS, not declared encrypted", arguments: luks, file: "d.qcow2", declared: .qcow2,
        expected: "qcow2_encrypted"),
    QemuCase(
        name: "qcow2 LUKS, declared encrypted", arguments: luks, file: "d.qcow2", declared: .qcow2,
        expected: nil, allowEncrypted: true),
    QemuCase(
        name: "qcow2 declared RAW", arguments: ["-f", "qcow2", "d.qcow2", "1G"], file: "d.qcow2",
        declared: .raw, expected: "kind_mismatch"),
    QemuCase(name: "raw", arguments: ["-f", "raw", "d.img", "1M"], file: "d.img", declared: .raw, expected: nil),
    QemuCase(
        name: "raw declared QCOW2", arguments: ["-f", "raw", "d.img", "1M"], file: "d.img", declared: .qcow2,
        expected: "kind_mismatch"),
    QemuCase(
        name: "vmdk sparse", arguments: ["-f", "vmdk", "d.vmdk", "64M"], file: "d.vmdk", declared: .qcow2,
        expected: "vmdk"),
    QemuCase(
        name: "vmdk monolithicFlat descriptor",
        arguments: [
            "-f", "vmdk", "-o", "subformat=monolithicFlat",
            "d.vmdk", "4M",
        ], file: "d.vmdk", declared: .raw, expected: "vmdk"),
    QemuCase(
        name: "vhd dynamic", arguments: ["-f", "vpc", "d.vhd", "64M"], file: "d.vhd", declared: .qcow2,
        expected: "vhd"),
    QemuCase(
        name: "vhd fixed (footer only)", arguments: ["-f", "vpc", "-o", "subformat=fixed", "d.vhd", "4M"],
        file: "d.vhd", declared: .raw, expected: "vhd"),
    QemuCase(
        name: "vhdx", arguments: ["-f", "vhdx", "d.vhdx", "64M"], file: "d.vhdx", declared: .qcow2,
        expected: "vhdx"),
    QemuCase(name: "vdi", arguments: ["-f", "vdi", "d.vdi", "64M"], file: "d.vdi", declared: .qcow2, expected: "vdi"),
    QemuCase(name: "qed", arguments: ["-f", "qed", "d.qed", "64M"], file: "d.qed", declared: .qcow2, expected: "qed"),
    QemuCase(
        name: "luks raw",
        arguments: [
            "-f", "luks", "--object", "secret,id=s0,data=pw", "-o", "key-secret=s0,iter-time=100",
            "d.luks", "16M",
        ], file: "d.luks", declared: .raw, expected: "luks"),
]

private let luks = [
    "-f", "qcow2", "--object", "secret,id=s0,data=pw", "-o",
    "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=100", "d.qcow2",
    "64M",
]

@Suite(.serialized) struct RealImageTests {
    @Test("qemu-img images", .enabled(if: Tool.available("qemu-img")), arguments: qemuCases)
    func qemu(_ testCase: QemuCase) throws {
        let dir = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Tool.run(["qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "1G"], in: dir)
        // LUKS key derivation benchmarks the CPU and can fail on a loaded machine ("Unable to get accurate CPU
        // usage"): retry a few times.
        for attempt in 1...12 {
            do {
                try Tool.run(["qemu-img", "create", "-q"] + testCase.arguments, in: dir)
                break
            } catch  where attempt < 12 {
                usleep(UInt32(250_000 * attempt))  // let the machine's load pass
                continue
            }
        }
        let bytes = try Tool.read(testCase.file, in: dir)
        var limits = InspectionLimits()
        limits.allowEncrypted = testCase.allowEncrypted
        let outcome = inspect(bytes, as: testCase.declared, limits: limits, chunking: .random(seed: 7))
        #expect(outcome.code == testCase.expected, "\(outcome)")
        #expect(inspect(bytes, as: testCase.declared, limits: limits) == outcome)
        if testCase.expected == nil, testCase.declared == .qcow2 {
            // The recorded virtual size is qemu-img's own.
            let size = UInt64(testCase.arguments.last!.dropLast())! << (testCase.arguments.last!.last == "G" ? 30 : 20)
            #expect(outcome.value?.virtualSize == size)
            #expect(outcome.value?.encrypted == testCase.allowEncrypted)
        }
    }

    @Test("qcow2 with an internal snapshot", .enabled(if: Tool.available("qemu-img")))
    func snapshot() throws {
        let dir = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Tool.run(["qemu-img", "create", "-q", "-f", "qcow2", "d.qcow2", "64M"], in: dir)
        try Tool.run(["qemu-img", "snapshot", "-c", "s1", "d.qcow2"], in: dir)
        #expect(inspect(try Tool.read("d.qcow2", in: dir), as: .qcow2).code == "qcow2_snapshots")
    }

    @Test("xorriso ISO is accepted with its volume size", .enabled(if: Tool.available("xorriso")))
    func xorriso() throws {
        let dir = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 300_000).write(to: dir.appendingPathComponent("root/file.bin"))
        try Tool.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "TEST", "-o", "t.iso", "root"], in: dir)
        let bytes = try Tool.read("t.iso", in: dir)
        let outcome = inspect(bytes, as: .iso, chunking: .random(seed: 3))
        #expect(outcome.value?.virtualSize == UInt64(bytes.count))
        #expect(outcome.value?.notes.first == "ISO 9660")
        #expect(inspect(bytes, as: .raw).code == "kind_mismatch")
    }

    @Test(
        "compressed and archived images are refused",
        arguments: [
            (["gzip", "-k", "d.img"], "d.img.gz", "gzip"),
            (["xz", "-k", "d.img"], "d.img.xz", "xz"),
            (["zstd", "-q", "d.img"], "d.img.zst", "zstd"),
            (["bzip2", "-k", "d.img"], "d.img.bz2", "bzip2"),
            (["zip", "-q", "d.zip", "d.img"], "d.zip", "zip"),
            (["tar", "-cf", "d.tar", "d.img"], "d.tar", "tar"),
            (["tar", "-cf", "d.ova", "d.ovf", "d.img"], "d.ova", "ova"),
        ])
    func compressed(command: [String], file: String, expected: String) throws {
        try #require(Tool.available(command[0]))
        let dir = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var raw = [UInt8](repeating: 0, count: 200_000)
        raw.put("some disk content", at: 4096)
        try Data(raw).write(to: dir.appendingPathComponent("d.img"))
        try Data("<Envelope/>".utf8).write(to: dir.appendingPathComponent("d.ovf"))
        try Tool.run(command, in: dir)
        for kind in DeclaredKind.allCases {
            #expect(inspect(try Tool.read(file, in: dir), as: kind).code == expected, "\(kind)")
        }
    }
}
