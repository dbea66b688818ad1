//===----------------------------------------------------------------------===//
// ImageGate: what one HTTP access line adds to /metrics (Docs/operations.md), counted where it is written.
//===----------------------------------------------------------------------===//
import GateCore

/// Counts per access line into the calling event loop's own slots, resolved once per scheme (no label text,
/// no hashing, no lock, no cache line another loop writes): requests by front and status class, and for
/// download responses the bytes and the outcome.
public enum HTTPMetrics {
    /// Download responses handed to a loop; minus `downloadsEnded` this is `imagegate_downloads_active`.
    public static func downloadsStarted(scheme: String) -> MetricSeries {
        MetricSeries("imagegate_internal_downloads_started", [("protocol", scheme)])
    }
    public static func downloadsEnded(scheme: String) -> MetricSeries {
        MetricSeries("imagegate_internal_downloads_ended", [("protocol", scheme)])
    }

    /// The counters one scheme's requests bump (trivial fields only: no reference counting per request).
    public struct SchemeCounters: Sendable {
        /// `imagegate_requests_total`: the scheme's four status classes, then `api`'s four.
        let requests: MetricCounterBlock
        public let downloadsStarted: MetricCounter
        let downloadsEnded: MetricCounter
        let transfers: TransferCounters

        init(_ scheme: StaticString) {
            let name = "\(scheme)"
            requests = Metrics.block(
                [name, "api"].flatMap { front in
                    ImageGateMetrics.statusClasses.map {
                        MetricSeries("imagegate_requests_total", [("front", front), ("status_class", $0)])
                    }
                })
            downloadsStarted = Metrics.counter(HTTPMetrics.downloadsStarted(scheme: name))
            downloadsEnded = Metrics.counter(HTTPMetrics.downloadsEnded(scheme: name))
            transfers = ImageGateMetrics.transfers(name) ?? TransferCounters(scheme)
        }
    }
    static let http = SchemeCounters("http")
    static let https = SchemeCounters("https")
    public static func counters(secure: Bool) -> SchemeCounters { secure ? https : http }

    static func count(_ r: AccessRecord, scheme: String) {
        guard Metrics.isEnabled else { return }
        let c = counters(secure: scheme == "https")
        let front = r.isAPI ? 4 : 0
        Metrics.add(c.requests[front + ImageGateMetrics.statusClassIndex(r.status)])
        guard r.session != nil else { return }
        c.transfers.ended(outcome: r.outcome.rawValue, bytes: r.bytesSent)
        Metrics.add(c.downloadsEnded)
    }
}
