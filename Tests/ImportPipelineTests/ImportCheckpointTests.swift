//===----------------------------------------------------------------------===//
// ImageGate: an import into a store that checkpoints (an object store) resumed from any checkpoint ends with
// exactly the checks' state of an uninterrupted import: SHA-256 midstate, inspector, held-back head, bytes.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Foundation
import GateCore
import ImageCatalog
@testable import ImportPipeline
import Testing
import ImageInspection

/// A staging object that, like an unfinished multipart upload, cannot read back bytes before its last
/// checkpoint: `read(at:)` below it fails the test.
final class CheckpointingStaging: BlobStaging {
    let staged: StagedBlob
    let interval: UInt64
    private(set) var bytes: [UInt8]
    private(set) var checkpoints: [(offset: UInt64, state: [UInt8])] = []
    let restoredCheckpoint: (offset: UInt64, state: [UInt8])?

    init(id: ImageID, interval: UInt64, bytes: [UInt8] = [], restored: (offset: UInt64, state: [UInt8])? = nil) {
        staged = StagedBlob(image: id, name: "memory:\(id)")
        self.interval = interval
        self.bytes = bytes
        self.restoredCheckpoint = restored
    }

    var checkpointInterval: UInt64? { interval }
    func saveCheckpoint(_ state: [UInt8], at offset: UInt64) throws(GateError) {
        #expect(offset == UInt64(bytes.count) && offset % interval == 0)
        checkpoints.append((offset, state))
    }
    private(set) var finalCheckpoint: (offset: UInt64, state: [UInt8])?
    func saveFinalCheckpoint(_ state: [UInt8], at offset: UInt64) throws(GateError) {
        #expect(offset == UInt64(bytes.count))
        finalCheckpoint = (offset, state)
    }
    func append(_ buffer: UnsafeRawBufferPointer) throws(BlobWriteError) { bytes += buffer }
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(GateError) -> Int {
        #expect(offset >= restoredCheckpoint?.offset ?? 0, "read back below the checkpoint")
        guard offset < UInt64(bytes.count) else { return 0 }
        let n = min(buffer.count, bytes.count - Int(offset))
        bytes.withUnsafeBytes {
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Int(offset)..<Int(offset) + n]))
        }
        return n
    }
    func truncate(to length: UInt64) throws(GateError) { bytes.removeLast(bytes.count - Int(length)) }
    func finalize(as version: BlobVersion) throws(GateError) {}
    func abort() {}
    func close() {}
}

/// Hands out one prepared staging object (new, or reopened at a checkpoint).
final class OneStagingStore: BlobStorage, @unchecked Sendable {
    // @unchecked: used by one test thread.
    var next: CheckpointingStaging
    init(_ staging: CheckpointingStaging) { next = staging }
    var location: String { "memory" }
    func prepare() throws(GateError) {}
    func openReader(_ version: BlobVersion, expectedSize: UInt64) throws(GateError) -> any BlobReader {
        throw GateError.notFound("no reader")
    }
    func createStaging(for version: BlobVersion) throws(GateError) -> any BlobStaging { next }
    func reopenStaging(_ staged: StagedBlob) throws(GateError) -> any BlobStaging { next }
    func stagedBlobs() -> [StagedBlob] { [next.staged] }
    func stagedSize(_ staged: StagedBlob) -> UInt64? { UInt64(next.bytes.count) }
    func removeStaging(_ staged: StagedBlob) {}
    func returnToStaging(_ id: ImageID) throws(GateError) -> StagedBlob { throw GateError.conflict("no") }
    func blobIDs() -> [ImageID] { [] }
    func blobSize(_ id: ImageID) -> UInt64? { nil }
    func blobModifiedAt(_ id: ImageID) -> Int64? { nil }
    func remove(_ id: ImageID) {}
    func quarantine(_ id: ImageID, now: Int64) throws(GateError) -> String { "" }
}

@Suite struct ImportCheckpointTests {
    enum Input: String, CaseIterable, CustomTestStringConvertible {
        case raw, qcow2, iso
        var testDescription: String { rawValue }
    }

    /// A small image of each kind the inspector checks differently.
    static func bytes(_ input: Input) throws -> [UInt8] {
        switch input {
        case .raw:
            return Crypto.randomBytes(300_001)
        case .iso:
            // ISO 9660: primary volume descriptor at sector 16, terminator at 17, 96 blocks of 2048.
            var b = [UInt8](repeating: 0, count: 96 * 2048)
            let pvd = 16 * 2048
            b[pvd] = 1
            b.replaceSubrange(pvd + 1..<pvd + 7, with: Array("CD001\u{1}".utf8))
            for (i, v) in withUnsafeBytes(of: UInt32(96).littleEndian, Array.init).enumerated() { b[pvd + 80 + i] = v }
            for (i, v) in withUnsafeBytes(of: UInt32(96).bigEndian, Array.init).enumerated() { b[pvd + 84 + i] = v }
            for (i, v) in withUnsafeBytes(of: UInt16(2048).littleEndian, Array.init).enumerated() {
                b[pvd + 128 + i] = v
            }
            for (i, v) in withUnsafeBytes(of: UInt16(2048).bigEndian, Array.init).enumerated() { b[pvd + 130 + i] = v }
            b[pvd + 2048] = 255
            b.replaceSubrange(pvd + 2049..<pvd + 2055, with: Array("CD001\u{1}".utf8))
            return b
        case .qcow2:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("igcp-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-img")
            p.arguments = ["create", "-q", "-f", "qcow2", dir.path + "/d.qcow2", "64M"]
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            return [UInt8](try Data(contentsOf: dir.appendingPathComponent("d.qcow2")))
        }
    }

    static func record(_ id: ImageID) -> ImageRecord {
        ImageRecord(
            id: id, tenant: .defaultTenant, name: "cp", fileName: "cp.img", format: .raw, status: .uploading,
            createdAt: 1, updatedAt: 1)
    }

    static func write(_ sink: ImportSink, _ bytes: ArraySlice<UInt8>, chunk: Int) {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let end = min(bytes.endIndex, offset + chunk)
            #expect(bytes[offset..<end].withUnsafeBytes { sink.write($0) } == nil)
            offset = end
        }
    }

    @Test(
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img"), "needs qemu-img (qemu-utils)"),
        arguments: Input.allCases, [16_384, 100_000])
    func resumingFromEveryCheckpointEqualsAnUninterruptedImport(input: Input, interval: Int) throws {
        let bytes = try Self.bytes(input)
        let id = ImageRecord.newID()
        // Uninterrupted, with the format left to the bytes (the held-back head is part of the state).
        let whole = CheckpointingStaging(id: id, interval: UInt64(interval))
        let first = try ImportSink.create(
            Self.record(id), blobs: OneStagingStore(whole), declared: .raw, detection: .any, encrypted: false,
            cap: nil, expectedSHA256: nil)
        Self.write(first, bytes[...], chunk: 7_777)
        let expectedState = first.checkpoint()
        let expected = try first.finish().get()
        #expect(!whole.checkpoints.isEmpty)
        #expect(whole.checkpoints.count == bytes.count / interval)

        // The first checkpoint, the last one before the format is decided (64 KiB: held-back head), the first
        // one after it, and the last one (every checkpoint would make the test quadratic in the image size).
        let n = whole.checkpoints.count
        let picked = Set([0, max(0, 65_536 / interval - 1), min(n - 1, 65_536 / interval), n - 1].filter { $0 < n })
        for checkpoint in picked.sorted().map({ whole.checkpoints[$0] }) {
            // The paused staging holds the bytes up to some way after the checkpoint (its tail); the resumed
            // import reads back only those, from its restored state, and continues with the rest.
            let paused = min(bytes.count, Int(checkpoint.offset) + interval / 3)
            let staging = CheckpointingStaging(
                id: id, interval: UInt64(interval), bytes: Array(bytes[..<paused]), restored: checkpoint)
            let resumed = try ImportSink.reopen(
                Self.record(id), staged: staging.staged, blobs: OneStagingStore(staging), declared: .raw,
                detection: .any, encrypted: false, cap: nil, expectedSHA256: nil)
            #expect(resumed.bytes == UInt64(paused))
            Self.write(resumed, bytes[paused...], chunk: 5_000)
            #expect(resumed.checkpoint() == expectedState, "state after resuming at \(checkpoint.offset)")
            let got = try resumed.finish().get()
            #expect(got.sha256 == expected.sha256 && got.sha256 == Hex.encode(Crypto.sha256(bytes)))
            #expect(
                got.format == expected.format && got.virtualSize == expected.virtualSize && got.size == expected.size)
        }
        switch input {
        case .raw: #expect(expected.format == .raw)
        case .qcow2: #expect(expected.format == .qcow2 && expected.virtualSize == 64 << 20)
        case .iso: #expect(expected.format == .iso)
        }
    }

    /// A node killed after the import's checks passed, while the store finalizes: the state saved before
    /// `finalize` lets the next start finish from the end without reading back a byte (an object store keeps
    /// the last part recorded instead of a second copy as a tail object). Sizes below and above the 64 KiB
    /// format decision and the checkpoint interval.
    @Test(arguments: [40_000, 300_001])
    func finishingSavesTheStateAKilledFinalizeResumesFrom(size: Int) throws {
        let bytes = Crypto.randomBytes(size)
        let id = ImageRecord.newID()
        let whole = CheckpointingStaging(id: id, interval: 100_000)
        let sink = try ImportSink.create(
            Self.record(id), blobs: OneStagingStore(whole), declared: .raw, detection: .any, encrypted: false,
            cap: nil, expectedSHA256: nil)
        Self.write(sink, bytes[...], chunk: 7_777)
        let expected = try sink.finish().get()
        let final = try #require(whole.finalCheckpoint)
        #expect(final.offset == UInt64(size))

        let staging = CheckpointingStaging(id: id, interval: 100_000, bytes: bytes, restored: final)
        let resumed = try ImportSink.reopen(
            Self.record(id), staged: staging.staged, blobs: OneStagingStore(staging), declared: .raw,
            detection: .any, encrypted: false, cap: nil, expectedSHA256: nil)
        #expect(resumed.bytes == UInt64(size))
        let got = try resumed.finish().get()
        #expect(got.sha256 == expected.sha256 && got.sha256 == Hex.encode(Crypto.sha256(bytes)))
        #expect(got.format == expected.format && got.size == expected.size && got.virtualSize == expected.virtualSize)
    }

    @Test func aDamagedMidstateIsRefused() {
        #expect(ResumableSHA256(state: [1, 2, 3]) == nil)
        var h = ResumableSHA256()
        let abc = Array("abc".utf8)
        abc.withUnsafeBytes { h.update($0) }
        var state = h.state
        state[state.count - 4] ^= 0x55  // md_len is no longer 32
        #expect(ResumableSHA256(state: state) == nil)
    }
}
