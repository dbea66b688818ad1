//===----------------------------------------------------------------------===//
// ImageGate: the read cache's counters (Docs/operations.md, Docs/object-storage.md "Read cache").
//===----------------------------------------------------------------------===//

/// Counted by the SliceCache target; declared here so /metrics describes them with the other families.
public enum CacheMetrics {
    public static let hits = Metrics.counter(MetricSeries("imagegate_cache_hits_total"))
    public static let misses = Metrics.counter(MetricSeries("imagegate_cache_misses_total"))
    public static let evictions = Metrics.counter(MetricSeries("imagegate_cache_evictions_total"))
    public static let readAheads = Metrics.counter(MetricSeries("imagegate_cache_read_aheads_total"))
    public static let corrupt = Metrics.counter(MetricSeries("imagegate_cache_corrupt_slices_total"))
    public static let fetchedBytes = Metrics.counter(MetricSeries("imagegate_cache_fetched_bytes_total"))
    public static let fetchFailures = Metrics.counter(MetricSeries("imagegate_cache_fetch_failures_total"))
    /// One Range GET of a slice, from the request to the last byte written to the partial file.
    public static let fetchSeconds = MetricHistogram(
        name: "imagegate_cache_fetch_seconds",
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])

    static func families() -> [MetricFamily] {
        func one(_ name: String, _ help: String) -> MetricFamily {
            MetricFamily(name, .counter, help, seeds: [MetricSeries(name)])
        }
        return [
            one("imagegate_cache_hits_total", "Slices opened from the node-local read cache (object store blobs)."),
            one(
                "imagegate_cache_misses_total",
                "Requests that needed a slice not in the read cache (several may share one fetch: single flight)."),
            one(
                "imagegate_cache_read_aheads_total",
                "Slice fetches started ahead of a download (the next slice of its range while this one is sent)."),
            one("imagegate_cache_evictions_total", "Slices deleted from the read cache to stay under cache.max_bytes."),
            one(
                "imagegate_cache_corrupt_slices_total",
                "Slices whose length or SHA-256 did not match the record (cached or fetched); never served."),
            one("imagegate_cache_fetched_bytes_total", "Bytes fetched from the object store into the read cache."),
            one(
                "imagegate_cache_fetch_failures_total",
                "Slice fetches the object store failed or did not answer in time."),
            MetricFamily(
                histogram: fetchSeconds, help: "Duration of one slice fetch (Range GET) from the object store."),
        ]
    }
}
