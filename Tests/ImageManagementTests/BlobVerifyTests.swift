//===----------------------------------------------------------------------===//
// ImageGate: `image verify` and the scrub on a temp catalog: intact, flipped, missing, cut and replaced blobs.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog
import ImageManagement
import SQLiteCatalog
import SystemIO
import Testing

@Suite struct BlobVerifyTests {
    /// SHA-256 test vector (FIPS 180-2 appendix B.3): one million times "a".
    static let millionA = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
    static let millionADigest = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

    /// An available image whose blob holds `bytes` and whose catalog row records `digest`.
    func image(_ w: World, _ bytes: [UInt8], digest: String = Self.millionADigest) throws -> ImageRecord {
        let r = try w.image(w.tenantA, size: UInt64(bytes.count))
        precondition(
            FileManager.default.createFile(atPath: w.blobs.path(for: r.id), contents: Data(bytes)),
            "cannot create a test file")
        return try w.store.update(r.id) { (r: inout ImageRecord) throws(GateError) in r.sha256 = digest }
    }

    /// A verifier reading 4 KiB at a time, so a blob takes many reads.
    func verifier(_ w: World) -> BlobVerifier { BlobVerifier(blobs: w.blobs, bytesPerSecond: 0, chunkSize: 4096) }

    @Test func intactBlobStaysAvailable() throws {
        let w = try World()
        let r = try image(w, Self.millionA)
        var seen: UInt64 = 0
        let result = try w.service.verifyImage(r, verifier: verifier(w), source: "test") { seen = $0 }
        #expect(result == .intact)
        #expect(seen == 1_000_000)
        #expect(try w.store.image(r.id)?.status == .available)
        #expect(try w.events("image.verify.fail").isEmpty)
    }

    @Test("the scrub advises sequential reading once per blob and reads on through EINTR")
    func advisesSequentialReadsAndRetriesInterruptedReads() throws {
        let w = try World()
        let r = try image(w, Self.millionA)
        // A failed advice changes nothing but speed, so a failure is how the test counts the calls.
        let (result, hits) = try SyscallFaults.inject([
            SyscallFault(.fadvise, .fail(errno: EINVAL), times: 100),
            SyscallFault(.pread, .fail(errno: EINTR), times: 3),
        ]) { try w.service.verifyImage(r, verifier: verifier(w), source: "test") }
        #expect(result == .intact)
        #expect(hits == [1, 3])
    }

    @Test func flippedByteOfTheRightSizeFailsTheImageWithAReason() throws {
        let w = try World()
        var bytes = Self.millionA
        bytes[700_001] ^= 0x01
        let r = try image(w, bytes)
        let result = try w.service.verifyImage(r, verifier: verifier(w), source: "test")
        guard case .wrongDigest(let actual) = result else {
            Issue.record("expected a digest mismatch, got \(result)")
            return
        }
        #expect(actual != Self.millionADigest && actual.count == 64)
        let after = try #require(try w.store.image(r.id))
        #expect(after.status == .failed)
        #expect(after.failureReason?.contains(actual) == true)
        #expect(after.failureReason?.contains(Self.millionADigest) == true)
        let events = try w.events("image.verify.fail")
        #expect(events.count == 1)
        #expect(events.first?.target == r.id.description)
        #expect(events.first?.draft.detail["actual_sha256"] == actual)
        // Failed is a normal failed image: it can be deleted (and re-imported).
        #expect(throws: Never.self) { try ImageLifecycle.next(after.status, .delete) }
    }

    @Test func missingBlobFailsTheImage() throws {
        let w = try World()
        let r = try image(w, Self.millionA)
        w.blobs.remove(r.id)
        #expect(try w.service.verifyImage(r, verifier: verifier(w), source: "test") == .missing)
        #expect(try w.store.image(r.id)?.status == .failed)
        #expect(try w.store.image(r.id)?.failureReason?.contains("missing") == true)
    }

    @Test func truncatedBlobIsAWrongSize() throws {
        let w = try World()
        let r = try image(w, Self.millionA)
        precondition(
            FileManager.default.createFile(
                atPath: w.blobs.path(for: r.id), contents: Data(Self.millionA.prefix(999_999))),
            "cannot create a test file")
        #expect(try w.service.verifyImage(r, verifier: verifier(w), source: "test") == .wrongSize(actual: 999_999))
        #expect(try w.store.image(r.id)?.status == .failed)
        #expect(try w.events("image.verify.fail").first?.draft.detail["actual_size"] == "999999")
    }

    /// A re-import (new generation and digest) between reading the row and failing it: the old result says
    /// nothing about the new bytes, so the image is left alone.
    @Test func imageReplacedWhileReadIsNotFailed() throws {
        let w = try World()
        let r = try image(w, Self.millionA, digest: String(repeating: "1", count: 64))
        _ = try w.store.update(r.id) { (r: inout ImageRecord) throws(GateError) in r.generation += 1 }
        #expect(try w.service.verifyImage(r, verifier: verifier(w), source: "test") == .superseded)
        #expect(try w.store.image(r.id)?.status == .available)
        #expect(try w.events("image.verify.fail").isEmpty)
    }

    @Test func stopRequestInterruptsWithoutAVerdict() throws {
        let w = try World()
        let r = try image(w, Self.millionA, digest: String(repeating: "1", count: 64))
        var reads = 0
        let result = try w.service.verifyImage(
            r, verifier: verifier(w), source: "test",
            shouldStop: {
                reads += 1
                return reads > 3
            })
        #expect(result == .interrupted)
        #expect(try w.store.image(r.id)?.status == .available)
    }

    @Test func onlyAvailableImagesAreVerifiable() throws {
        let w = try World()
        let available = try image(w, Self.millionA)
        try w.image(w.tenantB, status: .failed)
        try w.image(w.tenantB, status: .uploading)
        #expect(try w.service.verifiableImages().map(\.id) == [available.id])
    }
}
