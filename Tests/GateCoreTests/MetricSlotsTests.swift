//===----------------------------------------------------------------------===//
// ImageGate: counters registered once and bumped by slot (Docs/operations.md, "What counting costs").
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO
import Testing

@Suite struct MetricSlotsTests {
    @Test("a registered counter bumped from many threads adds up exactly after they exited")
    func counterFromThreads() {
        let series = MetricSeries("test_slots_total", [("case", "threads")])
        let counter = Metrics.counter(series)
        #expect(Metrics.counter(series) == counter)  // registering again finds the same slot
        // One after another: each thread's slots are retired when it exits (MetricsTests runs threads side by
        // side; more threads at once would only add malloc arenas that OSThreadReleaseTests' VmSize check sees).
        for i in 0..<8 {
            OSThread.spawn(name: "slot-\(i)") {
                for _ in 0..<1000 { Metrics.add(counter) }
                Metrics.add(counter, 0.5)
            }.join()
        }
        #expect(Metrics.snapshot()[series] == 8004)
        Metrics.add(series, 6)  // by labels: the same series, whichever slot it lands in
        #expect(Metrics.snapshot()[series] == 8010)
    }

    @Test("a block's slots count their own series; a series in two blocks is summed on scrape")
    func blocks() {
        let a = MetricSeries("test_block_total", [("k", "a")])
        let b = MetricSeries("test_block_total", [("k", "b")])
        let first = Metrics.block([a, b])
        let second = Metrics.block([b])
        Metrics.add(first[0], 2)
        Metrics.add(first[1], 3)
        Metrics.add(second[0], 4)
        let values = Metrics.snapshot()
        #expect(values[a] == 2)
        #expect(values[b] == 7)
        #expect(values[MetricSeries("test_block_total", [("k", "never")])] == nil)
    }

    @Test("every listed transfer outcome has its slot; another word is still counted under its own label")
    func transferOutcomes() {
        for (i, word) in ImageGateMetrics.transferOutcomes.enumerated() {
            #expect(ImageGateMetrics.transferOutcomeIndex(word) == i, "\(word)")
        }
        #expect(ImageGateMetrics.transferOutcomeIndex("something_new") == nil)
        // A protocol name of this test's own, so tests counting real transfers in parallel do not interfere.
        let counters = TransferCounters("test_proto")
        counters.ended(outcome: "completed", bytes: 100)
        counters.ended(outcome: "test_new_word", bytes: 23)
        ImageGateMetrics.transferEnded(protocol: "sftp", outcome: "test_other_word", bytes: 0)
        let values = Metrics.snapshot()
        func sessions(_ proto: String, _ outcome: String) -> Double? {
            values[MetricSeries("imagegate_download_sessions_total", [("protocol", proto), ("outcome", outcome)])]
        }
        #expect(sessions("test_proto", "completed") == 1)
        #expect(sessions("test_proto", "test_new_word") == 1)
        #expect(sessions("test_proto", "ok") == nil)  // registered up front, not counted: not shown
        #expect(sessions("sftp", "test_other_word") == 1)
        #expect(values[MetricSeries("imagegate_bytes_sent_total", [("protocol", "test_proto")])] == 123)
        #expect(ImageGateMetrics.transfers("sftp") != nil)
        #expect(ImageGateMetrics.transfers("gopher") == nil)
    }

    @Test("status class index and text agree", arguments: [100, 200, 299, 300, 404, 499, 500, 599, 700])
    func statusClassIndex(status: Int) {
        #expect(
            ImageGateMetrics.statusClasses[ImageGateMetrics.statusClassIndex(status)]
                == ImageGateMetrics.statusClass(status))
    }
}
