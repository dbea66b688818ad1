//===----------------------------------------------------------------------===//
// ImageGate: /metrics reads the catalog's images per status at most once per CatalogTotals.maxAgeMs.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Synchronization
import Testing
@testable import ImageGateApp

@Suite struct CatalogTotalsTests {
    /// Counts `imageTotals()` calls; `available` is what it answers, `failing` makes it throw.
    final class CountingCatalog: CatalogHealth {
        let calls = Atomic<Int>(0)
        let available = Atomic<Int64>(1)
        let failing = Atomic<Bool>(false)

        func readinessProbe(timeoutMs: Int32) throws(GateError) {}

        func imageTotals() throws(GateError) -> [(status: String, images: Int64, bytes: Int64)] {
            calls.add(1, ordering: .relaxed)
            if failing.load(ordering: .relaxed) { throw .io("catalog unreachable") }
            let n = available.load(ordering: .relaxed)
            return [("available", n, n * 100)]
        }
    }

    final class FakeClock: Sendable {
        let ms = Atomic<Int64>(1_000_000)
        func advance(_ d: Int64) { ms.add(d, ordering: .relaxed) }
    }

    @Test("scrapes within maxAgeMs share one catalog query; an older answer is read again")
    func scrapesShareOneQuery() {
        let catalog = CountingCatalog()
        let clock = FakeClock()
        let ops = OperationsEndpoints(
            health: HealthMonitor(catalog: catalog, blobCheck: { nil }), catalog: catalog,
            listenerGauges: { [] }, now: { clock.ms.load(ordering: .relaxed) })
        for _ in 0..<10 {
            #expect(ops.metricsText().contains("imagegate_images{status=\"available\"} 1\n"))
            clock.advance(CatalogTotals.maxAgeMs / 20)
        }
        #expect(catalog.calls.load(ordering: .relaxed) == 1)
        catalog.available.store(2, ordering: .relaxed)
        clock.advance(CatalogTotals.maxAgeMs)
        let text = ops.metricsText()
        #expect(text.contains("imagegate_images{status=\"available\"} 2\n"))
        #expect(text.contains("imagegate_image_bytes{status=\"available\"} 200\n"))
        #expect(catalog.calls.load(ordering: .relaxed) == 2)
    }

    @Test("a catalog that cannot answer leaves the series out, and the next scrape asks again")
    func failureIsNotRemembered() {
        let catalog = CountingCatalog()
        catalog.failing.store(true, ordering: .relaxed)
        let ops = OperationsEndpoints(
            health: HealthMonitor(catalog: catalog, blobCheck: { nil }), catalog: catalog,
            listenerGauges: { [] }, now: { 0 })
        #expect(!ops.metricsText().contains("imagegate_images{"))
        catalog.failing.store(false, ordering: .relaxed)
        #expect(ops.metricsText().contains("imagegate_images{status=\"available\"} 1\n"))
        #expect(catalog.calls.load(ordering: .relaxed) == 2)
    }
}
