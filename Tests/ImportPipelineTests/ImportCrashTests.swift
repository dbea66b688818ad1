//===----------------------------------------------------------------------===//
// ImageGate: a local file import (`image import --file`) that stops at each step of the pipeline leaves catalog
// and blobs consistent once a server starts on them: never an available row without its bytes, never bytes or
// staging files without an available row, and nothing left held.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import GateCore
import ImageCatalog
import ImageManagement
@testable import ImportPipeline
import Testing
import TestSupport
import SQLiteCatalog
import ImageInspection

@Suite struct ImportCrashTests {
    /// Where the importing process stops, in the order `importLocalFile` runs its steps.
    enum Step: String, CaseIterable, CustomTestStringConvertible {
        /// Row `uploading` with its lease, and its job; no bytes yet.
        case created
        /// Part of the bytes in the staging file.
        case copying
        /// Staging file fsynced and renamed into blobs/, the catalog commit not made.
        case finalized
        /// The catalog commit made (`available`), the job not yet removed.
        case committed
        var testDescription: String { rawValue }
    }

    /// Runs `importLocalFile`'s steps on `bytes` up to `step` and stops as a killed process would: nothing is
    /// cleaned up, its heartbeat stops, and its lease names a process that no longer exists.
    func crash(_ f: PipelineFixture, at step: Step, _ bytes: [UInt8]) throws -> ImageID {
        var request = PipelineFixture.request("crashy")
        request.source = .upload(size: UInt64(bytes.count))
        let (record, _) = try f.imports.create(.localAdmin, request, source: "cli", localFile: true)
        defer {
            f.imports.stopHeartbeat()
            let dead = LeaseHolder(node: LeaseHolder.localNode, pid: deadPID, run: "crashed")
            _ = try? f.store.claimLease(record.id, ImportLease(holder: dead, heartbeat: f.clock.now())) { _ in false }
        }
        if step == .created { return record.id }
        let sink = try ImportSink.create(
            record, blobs: f.blobs, declared: .raw, encrypted: false, cap: nil, expectedSHA256: nil)
        let half = bytes.count / 2
        #expect(bytes[0..<(step == .copying ? half : bytes.count)].withUnsafeBytes { sink.write($0) } == nil)
        if step == .copying { return record.id }
        let finished = try sink.finish().get()
        #expect(f.blobs.blobSize(record.id) == UInt64(bytes.count))
        if step == .finalized { return record.id }
        _ = try f.service.finishImport(
            record.id, size: finished.size, sha256: finished.sha256, virtualSize: finished.virtualSize,
            format: finished.format, encrypted: false)
        return record.id
    }

    /// What `imagegate serve` does first on the catalog (ServeCommand): claim what it can continue, recovery,
    /// finish complete uploads; with an import manager of its own, as a new process has.
    func restart(_ f: PipelineFixture) throws -> RecoveryReport {
        let server = ImportManager(
            service: f.service, store: f.store, blobs: f.blobs, settings: ImportSettings(),
            logger: Logger(minimum: .error), secrets: SecretBox(key: [UInt8](repeating: 7, count: 32))!)
        defer { server.stopHeartbeat() }
        server.resume(server.adopt())
        let report = try CatalogRecovery(store: f.store, blobs: f.blobs, clock: f.clock).run()
        server.finishCompleteUploads()
        return report
    }

    @Test(arguments: Step.allCases)
    func aCrashAtEachStepLeavesCatalogAndBlobsConsistent(step: Step) throws {
        let f = try PipelineFixture()
        var random = SeededRandom(seed: 40)
        let bytes = random.bytes(3 << 20)
        let id = try crash(f, at: step, bytes)

        let report = try restart(f)

        let row = try #require(try f.store.image(id))
        if step == .committed {
            #expect(report == RecoveryReport())
            #expect(row.status == .available && row.size == UInt64(bytes.count))
            #expect(row.sha256 == Hex.encode(Crypto.sha256(bytes)))
            #expect(f.blobs.blobSize(id) == row.size)
        } else {
            // Nobody can continue a local file import: it fails with the truthful reason, and its bytes go.
            #expect(report.interruptedImports == 1)
            #expect(report.removedBlobs == (step == .finalized ? 1 : 0))
            #expect(report.removedStagingFiles == (step == .copying ? 1 : 0))
            #expect(row.status == .failed && row.failureReason == CatalogRecovery.interruptedReason)
            #expect(f.blobs.blobSize(id) == nil)
        }
        #expect(f.blobs.stagingFiles().isEmpty)
        #expect(try f.store.leases().allSatisfy { !$0.1.isLive(now: f.clock.now()) })
        // A second start finds nothing left to repair, and no import job outlives its import.
        #expect(try restart(f) == RecoveryReport())
        #expect(try f.store.importJobs().isEmpty)
        #expect(try f.store.image(id)?.status == row.status)
    }
}
