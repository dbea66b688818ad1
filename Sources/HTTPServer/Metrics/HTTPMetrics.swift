//===----------------------------------------------------------------------===//
// ImageGate: what one HTTP access line adds to /metrics (Docs/operations.md), counted where it is written.
//===----------------------------------------------------------------------===//
import GateCore

/// Counts per access line, into the calling event loop's own shard (one uncontended lock, no shared cache
/// line): requests by front and status class, and for download responses the bytes and the outcome.
public enum HTTPMetrics {
    /// Download responses handed to a loop; minus `downloadsEnded` this is `imagegate_downloads_active`.
    public static func downloadsStarted(scheme: String) -> MetricSeries {
        MetricSeries("imagegate_internal_downloads_started", [("protocol", scheme)])
    }
    public static func downloadsEnded(scheme: String) -> MetricSeries {
        MetricSeries("imagegate_internal_downloads_ended", [("protocol", scheme)])
    }

    static func count(_ r: AccessRecord, scheme: String) {
        let front = r.path.hasPrefix("/api/") ? "api" : scheme
        let requests = MetricSeries(
            "imagegate_requests_total", [("front", front), ("status_class", ImageGateMetrics.statusClass(r.status))])
        guard r.session != nil else { return Metrics.add(requests) }
        Metrics.add(
            (requests, 1),
            (MetricSeries("imagegate_bytes_sent_total", [("protocol", scheme)]), Double(r.bytesSent)),
            (MetricSeries("imagegate_download_sessions_total", [("protocol", scheme), ("outcome", r.outcome)]), 1),
            (downloadsEnded(scheme: scheme), 1))
    }
}
