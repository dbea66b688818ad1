//===----------------------------------------------------------------------===//
// ImageGate: an import's rate over a recent window, and progress that says "stalled" instead of a stale rate.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog
@testable import ImageGateApp
@testable import ImportPipeline
import Testing

@Suite struct ImportProgressTests {
    static func uploading(bytes: UInt64, rate: Double?, at: Int64?) -> ImageRecord {
        ImageRecord(
            id: ImageRecord.newID(), tenant: TenantID(ID128(bytes: [UInt8](repeating: 1, count: 16))!),
            name: "n", fileName: "n.raw", format: .raw, status: .uploading, createdAt: 1000, updatedAt: 1000,
            progressBytes: bytes, progressTotal: 1000, progressRate: rate, progressAt: at)
    }

    @Test func aLiveTransferShowsRateAndETA() {
        let p = ImportProgressJSON.json(Self.uploading(bytes: 400, rate: 100, at: 2000), now: 2003)
        #expect(p["rate"] as? Double == 100)
        #expect(p["eta_seconds"] as? Int == 6)
        #expect(p["stalled_since"] is NSNull)
        #expect(p["last_bytes_at"] as? String == TimeFormat.rfc3339(2000))
    }

    @Test("no bytes for stalledAfter seconds: rate and ETA are withdrawn, stalled_since says since when")
    func aStalledTransferHasNoRate() {
        let r = Self.uploading(bytes: 400, rate: 100, at: 2000)
        let p = ImportProgressJSON.json(r, now: 2000 + ImportProgressJSON.stalledAfter)
        #expect(p["rate"] is NSNull)
        #expect(p["eta_seconds"] is NSNull)
        #expect(p["stalled_since"] as? String == TimeFormat.rfc3339(2000))
        #expect(p["bytes"] as? UInt64 == 400)
        // The image JSON carries the same object.
        let image = APIJSON.image(r, now: 2000 + 3600)
        #expect((image["progress"] as? [String: Any])?["rate"] is NSNull)
    }

    @Test("an import that never received a byte is stalled since it was created")
    func noBytesYet() {
        let r = Self.uploading(bytes: 0, rate: nil, at: nil)
        #expect(ImportProgressJSON.json(r, now: 1005)["stalled_since"] is NSNull)
        #expect(ImportProgressJSON.json(r, now: 1010)["stalled_since"] as? String == TimeFormat.rfc3339(1000))
        #expect(ImportProgressJSON.json(r, now: 1010)["last_bytes_at"] is NSNull)
    }

    @Test("the rate covers the last seconds, and a pause starts a fresh window")
    func windowedRate() {
        var w = ProgressWindow()
        #expect(w.due(0, final: false))
        #expect(w.add(0, bytes: 0) == nil)
        #expect(!w.due(500, final: false))
        #expect(w.due(500, final: true))
        // 1000 B/s for 5 s, then 3000 B/s for 1 s: the rate is over the whole window (8000 B in 6 s).
        for s in 1...5 { _ = w.add(Int64(s) * 1000, bytes: UInt64(s) * 1000) }
        let r = w.add(6000, bytes: 8000)
        #expect(r.map { abs($0 - 8000.0 / 6) < 0.001 } == true)
        // Samples older than the window drop out: 20 s later only the new ones count.
        #expect(w.add(26_000, bytes: 9000) == nil)
        #expect(w.add(27_000, bytes: 9500) == 500)
    }
}
