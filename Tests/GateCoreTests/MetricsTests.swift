//===----------------------------------------------------------------------===//
// ImageGate: per-thread counters summed on scrape, and the text exposition format (Docs/operations.md).
//===----------------------------------------------------------------------===//
@testable import GateCore
import SystemIO
import Testing

@Suite struct MetricsTests {
    @Test("counts from many threads add up exactly, also after the threads exited")
    func threadsSum() {
        let series = MetricSeries("test_threads_total", [("case", "sum")])
        let threads = (0..<8).map { i in
            OSThread.spawn(name: "count-\(i)") {
                for _ in 0..<1000 { Metrics.add(series) }
                Metrics.add(series, 0.5)
            }
        }
        for t in threads { t.join() }
        #expect(Metrics.snapshot()[series] == 8004)
        Metrics.add(series, 6)
        #expect(Metrics.snapshot()[series] == 8010)
    }

    @Test("HELP and TYPE per family, seeds at zero, label values escaped, sorted series")
    func render() {
        var family = MetricFamily(
            "test_render_total", .counter, "Line one\\two", seeds: [MetricSeries("test_render_total", [("k", "a")])])
        family.seeds.append(MetricSeries("test_render_total", [("k", "z")]))
        let values: [MetricSeries: Double] = [
            MetricSeries("test_render_total", [("k", "q\"\\\n")]): 3,
            MetricSeries("test_render_total", [("k", "z")]): 2,
            MetricSeries("other_total"): 9,
        ]
        let text = MetricText.render([family], values: values)
        #expect(
            text == """
                # HELP test_render_total Line one\\\\two
                # TYPE test_render_total counter
                test_render_total{k="a"} 0
                test_render_total{k="q\\"\\\\\\n"} 3
                test_render_total{k="z"} 2

                """)
    }

    @Test("a histogram renders cumulative buckets, +Inf, sum and count")
    func histogram() {
        let h = MetricHistogram(name: "test_latency_seconds", buckets: [0.001, 0.01])
        for v in [0.0005, 0.005, 0.005, 3] { Metrics.observe(h, v) }
        let text = MetricText.render([MetricFamily(histogram: h, help: "h")], values: Metrics.snapshot())
        #expect(
            text == """
                # HELP test_latency_seconds h
                # TYPE test_latency_seconds histogram
                test_latency_seconds_bucket{le="0.001"} 1
                test_latency_seconds_bucket{le="0.01"} 3
                test_latency_seconds_bucket{le="+Inf"} 4
                test_latency_seconds_sum 3.0105
                test_latency_seconds_count 4

                """)
    }

    @Test("an observation writes three slots (its bucket, sum, count); a scrape makes the buckets cumulative")
    func histogramSlots() {
        let h = MetricHistogram(name: "test_slots_seconds", buckets: [0.001, 0.01, 0.1, 1, 10])
        let end = h.cells.base + h.cells.count
        let before = Metrics.shards.sum(end)
        Metrics.observe(h, 0.0009765625)  // 2^-10 and 2^-4: their sum is exact
        Metrics.observe(h, 0.0625)
        let after = Metrics.shards.sum(end)
        // Slot by slot, what the two observations added: one in le=0.001, one in le=0.1, +Inf untouched.
        let added = (h.cells.base..<end).map { after[$0] - before[$0] }
        #expect(added == [1, 0, 1, 0, 0, 0, 0.0634765625, 2])
        let snapshot = Metrics.snapshot()
        #expect(h.bucketSeries.map { snapshot[$0.1] ?? 0 } == [1, 1, 2, 2, 2])
        #expect(snapshot[h.infSeries] == 2)
    }

    @Test(
        "numbers: integers exact without a fraction, others shortest",
        arguments: [
            (0.0, "0"), (101_000.0, "101000"), (0.25, "0.25"), (1e-4, "0.0001"), (Double.infinity, "+Inf"),
        ])
    func numbers(value: Double, text: String) {
        #expect(MetricText.number(value) == text)
    }

    @Test("status classes")
    func classes() {
        #expect(
            [200, 206, 304, 404, 416, 500, 503].map(ImageGateMetrics.statusClass) == [
                "2xx", "2xx", "3xx", "4xx", "4xx", "5xx", "5xx",
            ])
    }
}
