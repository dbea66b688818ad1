//===----------------------------------------------------------------------===//
// ImageGate: test fixtures for ImageInspection: crafted qcow2/ISO images, chunked feeding, qemu-img and friends.
//===----------------------------------------------------------------------===//
import Foundation
@testable import ImageInspection

/// Outcome of one full inspection, comparable across chunkings.
typealias Outcome = Result<InspectionResult, InspectionFailure>

extension Outcome {
    var code: String? {
        if case .failure(let failure) = self { return failure.code }
        return nil
    }
    var value: InspectionResult? { try? get() }
}

/// How to cut the stream into `feed` calls.
enum Chunking: Sendable, CustomStringConvertible {
    case whole, byteByByte, sized(Int), random(seed: UInt64)
    var description: String {
        switch self {
        case .whole: "whole"
        case .byteByByte: "byte-by-byte"
        case .sized(let n): "\(n)-byte chunks"
        case .random(let seed): "random chunks (seed \(seed))"
        }
    }
}

/// Feeds `bytes` in the given chunking and finishes; after a feed failure it still calls `finish` (which must
/// repeat the failure), so every chunking yields one comparable outcome.
func inspect(
    _ bytes: [UInt8], as declared: DeclaredKind, limits: InspectionLimits = InspectionLimits(),
    chunking: Chunking = .whole
) -> Outcome {
    var inspector = ImageInspector(declared: declared, limits: limits)
    var rng = SplitMix64(seed: { if case .random(let s) = chunking { s } else { 0 } }())
    var offset = 0
    var early: InspectionFailure?
    while offset < bytes.count {
        let n: Int
        switch chunking {
        case .whole: n = bytes.count
        case .byteByByte: n = 1
        case .sized(let size): n = size
        case .random: n = 1 + Int(rng.next() % 70_000)
        }
        let end = min(bytes.count, offset + n)
        if let failure = bytes[offset..<end].withUnsafeBytes({ inspector.feed($0) }) {
            early = failure
            break
        }
        offset = end
    }
    let outcome = inspector.finish(totalSize: early == nil ? UInt64(bytes.count) : inspector.bytesSeen)
    if let early, outcome != .failure(early) { return .failure(InspectionFailure(code: "finish_differs", message: "")) }
    return outcome
}

/// Feeds `bytes` (a prefix of an image) and returns what `feed` said, without finishing.
func feedOnly(_ bytes: [UInt8], as declared: DeclaredKind, limits: InspectionLimits = InspectionLimits())
    -> InspectionFailure?
{
    var inspector = ImageInspector(declared: declared, limits: limits)
    return inspector.feed(bytes)
}

/// Deterministic PRNG for reproducible chunk sizes (SplitMix64, Steele et al. 2014).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    mutating func put(_ bytes: [UInt8], at offset: Int) {
        if count < offset + bytes.count {
            append(contentsOf: [UInt8](repeating: 0, count: offset + bytes.count - count))
        }
        replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }
    mutating func put(_ text: String, at offset: Int) { put(Array(text.utf8), at: offset) }
    mutating func putBE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        put((0..<T.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> (T.bitWidth - 8 - $0 * 8)) }, at: offset)
    }
    mutating func putLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        put((0..<T.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }, at: offset)
    }
}

/// A crafted qcow2 image: valid by default (v3, 64 KiB clusters, 1 GiB, refcount table at cluster 1, L1 at cluster
/// 3, extensions: only the end marker), every header field settable (qcow2.txt "Header").
struct QCOW2Image {
    var version: UInt32 = 3
    var backingFileOffset: UInt64 = 0
    var backingFileSize: UInt32 = 0
    var clusterBits: UInt32 = 16
    var size: UInt64 = 1 << 30
    var cryptMethod: UInt32 = 0
    var l1Size: UInt32 = 8
    var l1TableOffset: UInt64 = 0x30000
    var refcountTableOffset: UInt64 = 0x10000
    var refcountTableClusters: UInt32 = 1
    var nbSnapshots: UInt32 = 0
    var snapshotsOffset: UInt64 = 0
    var incompatible: UInt64 = 0
    var compatible: UInt64 = 0
    var autoclear: UInt64 = 0
    var refcountOrder: UInt32 = 4
    var headerLength: UInt32 = 112
    var compressionType: UInt8 = 0
    var extensions: [(type: UInt32, data: [UInt8])] = []
    /// Defaults to the end of the L1 table.
    var fileSize: Int?

    func bytes() -> [UInt8] {
        var b: [UInt8] = [0x51, 0x46, 0x49, 0xFB]
        b.putBE(version, at: 4)
        b.putBE(backingFileOffset, at: 8)
        b.putBE(backingFileSize, at: 16)
        b.putBE(clusterBits, at: 20)
        b.putBE(size, at: 24)
        b.putBE(cryptMethod, at: 32)
        b.putBE(l1Size, at: 36)
        b.putBE(l1TableOffset, at: 40)
        b.putBE(refcountTableOffset, at: 48)
        b.putBE(refcountTableClusters, at: 56)
        b.putBE(nbSnapshots, at: 60)
        b.putBE(snapshotsOffset, at: 64)
        var offset = 72
        if version >= 3 {
            b.putBE(incompatible, at: 72)
            b.putBE(compatible, at: 80)
            b.putBE(autoclear, at: 88)
            b.putBE(refcountOrder, at: 96)
            b.putBE(headerLength, at: 100)
            if headerLength > 104 { b.put([compressionType], at: 104) }
            offset = Int(headerLength)
        }
        for ext in extensions + [(type: 0, data: [])] {
            b.putBE(ext.type, at: offset)
            b.putBE(UInt32(ext.data.count), at: offset + 4)
            b.put(ext.data, at: offset + 8)
            offset += 8 + (ext.data.count + 7) / 8 * 8
        }
        let total = fileSize ?? Int(l1TableOffset) + Int(l1Size) * 8
        if b.count < total { b.put([UInt8](repeating: 0, count: total - b.count), at: b.count) }
        return Array(b.prefix(total))
    }
}

/// A crafted ISO 9660 image: system area, PVD at sector 16, optional El Torito boot record, terminator.
struct ISOImage {
    var blocks: UInt32 = 64
    var blockSize: UInt16 = 2048
    var bigEndianBlocks: UInt32?
    var mbr = false
    var gpt = false
    var elTorito = false
    var fileSize: Int?

    func bytes() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: fileSize ?? Int(blocks) * Int(blockSize))
        if mbr { b.put([0x55, 0xAA], at: 510) }
        if gpt { b.put("EFI PART", at: 512) }
        var sector = 0x8000
        b.put([1], at: sector)
        b.put("CD001\u{1}", at: sector + 1)
        b.putLE(blocks, at: sector + 80)
        b.putBE(bigEndianBlocks ?? blocks, at: sector + 84)
        b.putLE(blockSize, at: sector + 128)
        b.putBE(blockSize, at: sector + 130)
        if elTorito {
            sector += 2048
            b.put([0], at: sector)
            b.put("CD001\u{1}EL TORITO SPECIFICATION", at: sector + 1)
        }
        b.put([255], at: sector + 2048)
        b.put("CD001\u{1}", at: sector + 2049)
        return Array(b.prefix(fileSize ?? b.count))
    }
}

/// External tools (qemu-img, xorriso, compressors), each test skipped when its tool is missing.
enum Tool {
    static func available(_ name: String) -> Bool {
        ["/usr/bin/", "/usr/local/bin/", "/bin/"].contains { FileManager.default.isExecutableFile(atPath: $0 + name) }
    }

    /// Runs `argv` in `directory`; throws with the tool's stderr when it fails.
    static func run(_ argv: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        process.currentDirectoryURL = directory
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ToolError(message: "\(argv.joined(separator: " ")): " + String(decoding: message, as: UTF8.self))
        }
    }

    struct ToolError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("imageinspection-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func read(_ name: String, in directory: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}
