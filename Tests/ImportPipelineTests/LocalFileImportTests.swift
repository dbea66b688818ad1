//===----------------------------------------------------------------------===//
// ImageGate: `imagegate image import --file` through the import pipeline (ImportManager.importLocalFile):
// happy path, hashing, file modes, formats, refused sources, failures, and a recovery verdict that stands.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GateCore
import ImageCatalog
import ImageManagement
@testable import ImportPipeline
import Testing
import TestSupport
import SQLiteCatalog

@Suite struct LocalFileImportTests {
    @Test func importsASmallRandomFile() throws {
        let f = try PipelineFixture()
        var random = SeededRandom(seed: 15)
        let bytes = random.bytes(3 * 1024 * 1024 + 17)  // several 1 MiB chunks plus a tail
        let source = try f.write("source.bin", bytes)
        var seen: [(UInt64, UInt64)] = []

        let record = try f.importFile(source, name: "  My Disk  ") { seen.append(($0, $1)) }

        #expect(record.status == .available)
        #expect(record.name == "My Disk")
        #expect(record.fileName == "My_Disk.img")
        #expect(record.format == .raw)
        #expect(record.size == UInt64(bytes.count))
        #expect(record.sha256 == (try sha256sum(source)))
        #expect(record.generation == 1)
        #expect(record.finalizedAt == 1_700_000_000)
        #expect(record.failureReason == nil)
        #expect(try f.store.image(record.id) == record)
        #expect(try f.store.leases().isEmpty)
        #expect(try f.store.importJob(image: record.id) == nil)

        let blob = f.blobs.path(for: record.id)
        #expect(FileManager.default.contents(atPath: blob).map { [UInt8]($0) } == bytes)
        #expect(fileMode(blob) == 0o600)
        #expect(fileMode(f.blobs.blobDirectory) == 0o700)
        #expect(fileMode(f.blobs.stagingDirectory) == 0o700)
        #expect(f.blobs.stagingFiles().isEmpty)

        #expect(seen.last.map { [$0.0, $0.1] } == [UInt64(bytes.count), UInt64(bytes.count)])
        #expect(seen.map(\.0) == seen.map(\.0).sorted())
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img"), "needs qemu-img"))
    func qcow2IsCheckedAndNamed() throws {
        let f = try PipelineFixture()
        let path = f.dir.file("cirros")
        try runTool(["/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", path, "64M"])
        let q = try f.importFile(path, name: "cirros", format: .qcow2)
        #expect(q.format == .qcow2 && q.fileName == "cirros.qcow2" && q.virtualSize == 64 << 20)
        // The declared format is checked against the bytes: random bytes are no qcow2.
        var random = SeededRandom(seed: 2)
        let refused = #expect(throws: GateError.self) {
            try f.importFile(try f.write("raw", random.bytes(70_000)), name: "fake", format: .qcow2)
        }
        #expect(refused?.code == .unsupported)
        #expect(Set(try f.store.images(tenant: nil).map(\.status)) == [.available, .failed])
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/xorriso"), "needs xorriso"))
    func isoIsCheckedAndNamed() throws {
        let f = try PipelineFixture()
        let content = f.dir.file("content")
        try FileManager.default.createDirectory(atPath: content, withIntermediateDirectories: true)
        _ = try f.write("content/README", Array("hello".utf8))
        let path = f.dir.file("netinst.iso")
        try runTool(["/usr/bin/xorriso", "-as", "mkisofs", "-quiet", "-o", path, content])
        let i = try f.importFile(path, name: "netinst.iso", format: .iso)
        #expect(i.format == .iso && i.kind == .iso && i.fileName == "netinst.iso")
    }

    @Test func duplicateNamesGetDistinctIDs() throws {
        let f = try PipelineFixture()
        var random = SeededRandom(seed: 3)
        let path = try f.write("src", random.bytes(100))
        let a = try f.importFile(path, name: "same")
        let b = try f.importFile(path, name: "same")
        #expect(a.id != b.id && a.sha256 == b.sha256)
    }

    @Test func refusedSources() throws {
        let f = try PipelineFixture()
        let empty = try f.write("empty", [])
        #expect(mkfifo(f.dir.file("fifo"), 0o600) == 0)
        let cases: [(String, GateError.Code)] = [
            (f.dir.file("does-not-exist"), .notFound),
            (f.dir.path, .invalidRequest),  // a directory
            (empty, .invalidRequest),
            (f.dir.file("fifo"), .invalidRequest),  // must not hang waiting for a writer
            ("/dev/null", .invalidRequest),
        ]
        for (path, code) in cases {
            let err = #expect(throws: GateError.self) { try f.importFile(path, name: "x") }
            #expect(err?.code == code, "\(path)")
        }
        let badName = #expect(throws: GateError.self) { try f.importFile(try f.write("ok", [1]), name: "a\u{7}b") }
        #expect(badName?.code == .invalidRequest)
        #expect(try f.store.images(tenant: nil).isEmpty)
        #expect(f.blobs.stagingFiles().isEmpty)
    }

    @Test func failureAfterTheRowExistsMarksItFailed() throws {
        // The blob store root is a regular file, so creating the staging directory fails mid-import.
        let scratch = try TemporaryDirectory(prefix: "pipeline-root")
        let f = try PipelineFixture(blobRoot: try scratch.write("not-a-dir", [0]))
        var random = SeededRandom(seed: 4)
        let err = #expect(throws: GateError.self) {
            try f.importFile(try f.write("src", random.bytes(10)), name: "doomed")
        }
        #expect(err != nil)
        let rows = try f.store.images(tenant: nil)
        #expect(rows.count == 1)
        #expect(rows.first?.status == .failed)
        #expect(rows.first?.failureReason?.isEmpty == false)
        #expect(try f.store.leases().isEmpty)
        #expect(try f.store.importJobs().isEmpty)
    }

    @Test func recoveryVerdictIsNotOverwritten() throws {
        // If recovery (another process) declared the import dead, finalize must not resurrect the row, and the
        // bytes it finalized must not stay behind a failed row.
        let f = try PipelineFixture()
        var random = SeededRandom(seed: 5)
        let source = try f.write("src", random.bytes(2 * 1024 * 1024))
        var failedOnce = false
        let err = #expect(throws: GateError.self) {
            try f.importFile(source, name: "raced") { _, _ in
                guard !failedOnce, let row = try? f.store.images(tenant: nil).first else { return }
                failedOnce = true
                _ = try? f.store.update(row.id) { r throws(GateError) in
                    r.status = .failed
                    r.failureReason = CatalogRecovery.interruptedReason
                }
            }
        }
        #expect(err?.code == .conflict)
        let row = try #require(try f.store.images(tenant: nil).first)
        #expect(row.status == .failed && row.failureReason == CatalogRecovery.interruptedReason)
        #expect(f.blobs.blobSize(row.id) == nil)
        #expect(f.blobs.stagingFiles().isEmpty)
    }

    @Test("an import into a blob root on another file system: staged, finalized and read there, nothing elsewhere")
    func importAcrossFileSystems() throws {
        // /dev/shm is tmpfs on Linux: a rename between the catalog's side (/tmp) and the blobs' would fail (EXDEV).
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let root = base + "/imagegate-blobs-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let f = try PipelineFixture(blobRoot: root)
        var random = SeededRandom(seed: 6)
        let bytes = random.bytes(300_000)
        let record = try f.importFile(try f.write("source.img", bytes), name: "across")

        #expect(record.status == .available && record.generation == 1)
        var blobStat = stat()
        var rootStat = stat()
        #expect(stat(f.blobs.path(for: record.id), &blobStat) == 0 && stat(root, &rootStat) == 0)
        #expect(blobStat.st_dev == rootStat.st_dev)
        #expect(f.blobs.stagedBlobs().isEmpty)
        #expect(FileManager.default.contents(atPath: f.blobs.path(for: record.id)).map { [UInt8]($0) } == bytes)
        #expect(!FileManager.default.fileExists(atPath: f.dir.file("blobs")))
        #expect(!FileManager.default.fileExists(atPath: f.dir.file("staging")))
    }
}
