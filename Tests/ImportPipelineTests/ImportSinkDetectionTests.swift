//===----------------------------------------------------------------------===//
// ImageGate: an import whose format was not declared takes it from its first 64 KiB (image import --url).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Foundation
import GateCore
import ImageCatalog
@testable import ImportPipeline
import Testing

@Suite struct ImportSinkDetectionTests {
    final class Scratch {
        let url: URL
        init() throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("imagegate-sink-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(at: url) }
        var blobs: BlobStore { BlobStore(root: url.path + "/data") }
    }

    /// A fresh row in `uploading` (what an import's sink stages bytes for).
    static func record() -> ImageRecord {
        ImageRecord(
            id: ImageRecord.newID(), tenant: .defaultTenant, name: "probe", fileName: "probe.img", format: .raw,
            status: .uploading, createdAt: 1, updatedAt: 1)
    }

    /// Streams `bytes` through a new sink in `chunk`-sized writes and finishes it.
    func run(
        _ bytes: [UInt8], declared: ImageFormat, detection: FormatDetection?, chunk: Int, in scratch: Scratch
    ) throws -> Result<ImportedBytes, ImportFailure> {
        let sink = try ImportSink.create(
            Self.record(), blobs: scratch.blobs, declared: ImportManager.declared(declared), detection: detection,
            encrypted: false, cap: nil, expectedSHA256: nil)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            if let f = bytes[offset..<end].withUnsafeBytes({ sink.write($0) }) {
                sink.abandon()
                return .failure(f)
            }
            offset = end
        }
        return sink.finish()
    }

    @Test(arguments: [1, 1000, 65_536, 1 << 20])
    func rawContentWithoutADeclaredFormatIsRaw(chunk: Int) throws {
        // The placeholder (qcow2 was the old assumption) does not decide: the bytes do, whatever the chunking.
        let scratch = try Scratch()
        let bytes = Crypto.randomBytes(200_000)
        let result = try run(bytes, declared: .qcow2, detection: .any, chunk: chunk, in: scratch)
        let imported = try result.get()
        #expect(imported.format == .raw && imported.size == 200_000)
        #expect(imported.sha256 == Hex.encode(Crypto.sha256(bytes)))
    }

    @Test func declaredQcow2OnRawContentIsStillRefused() throws {
        // What `--url` without `--format` used to do: declare qcow2. Declared formats keep being checked.
        let scratch = try Scratch()
        let result = try run(Crypto.randomBytes(200_000), declared: .qcow2, detection: nil, chunk: 1 << 20, in: scratch)
        guard case .failure = result else {
            Issue.record("raw bytes were accepted as qcow2")
            return
        }
        #expect(scratch.blobs.stagingFiles().isEmpty)
    }

    @Test func aFileShorterThanTheSniffWindowIsDecidedAtTheEnd() throws {
        let scratch = try Scratch()
        let bytes = Crypto.randomBytes(5000)
        let imported = try run(bytes, declared: .qcow2, detection: .any, chunk: 777, in: scratch).get()
        #expect(imported.format == .raw && imported.size == 5000)
    }

    @Test(
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img"), "needs qemu-img (qemu-utils)"))
    func qcow2ContentIsDetectedAsQcow2() throws {
        let scratch = try Scratch()
        let path = scratch.url.path + "/disk.qcow2"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-img")
        p.arguments = ["create", "-q", "-f", "qcow2", path, "64M"]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let imported = try run(bytes, declared: .raw, detection: .any, chunk: 4096, in: scratch).get()
        #expect(imported.format == .qcow2 && imported.virtualSize == 64 << 20)
    }
}
