//===----------------------------------------------------------------------===//
// ImageGate: what /metrics, /healthz and /readyz answer (metrics listener and, for /readyz, the HTTP fronts).
//===----------------------------------------------------------------------===//
import FTPServer
import GateCore
import HTTPServer
import ImageCatalog
import SFTPServer
import Synchronization

/// The operations answers, shared by the metrics listener and the HTTP fronts (Docs/operations.md).
struct OperationsEndpoints: Sendable {
    let health: HealthMonitor
    let catalog: any CatalogHealth
    /// Gauges read from the running listeners at scrape time (open connections, FTP/SFTP sessions).
    let listenerGauges: @Sendable () -> [(MetricSeries, Double)]
    /// Every family /metrics describes, built once: their HELP lines were escaped anew on every scrape, more
    /// than half of what a scrape cost (Docs/benchmarks.md, "Results: metrics-scrape").
    let families = ImageGateMetrics.families()
    /// The catalog's images and bytes per status, read at most once per `CatalogTotals.maxAgeMs`.
    let catalogTotals: CatalogTotals

    init(
        health: HealthMonitor, catalog: any CatalogHealth,
        listenerGauges: @escaping @Sendable () -> [(MetricSeries, Double)],
        now: @escaping @Sendable () -> Int64 = Monotonic.milliseconds
    ) {
        self.health = health
        self.catalog = catalog
        self.listenerGauges = listenerGauges
        catalogTotals = CatalogTotals(catalog: catalog, now: now)
    }

    func answer(_ path: String) -> (status: Int, contentType: String, body: String) {
        switch path {
        case "/metrics": (200, MetricText.contentType, metricsText())
        case "/healthz": (200, "text/plain; charset=utf-8", "ok\n")
        case "/readyz": readyz()
        default: (404, "text/plain; charset=utf-8", "not found: try /metrics, /healthz or /readyz\n")
        }
    }

    func readyz() -> (status: Int, contentType: String, body: String) {
        let r = health.readiness()
        return (r.status, "text/plain; charset=utf-8", r.body)
    }

    func metricsText() -> String {
        var values = Metrics.snapshot()
        values[MetricSeries("imagegate_build_info", [("version", BuildInfo.version)])] = 1
        for (series, value) in listenerGauges() { values[series] = value }
        for scheme in ["http", "https"] {
            let started = values[HTTPMetrics.downloadsStarted(scheme: scheme)] ?? 0
            let ended = values[HTTPMetrics.downloadsEnded(scheme: scheme)] ?? 0
            values[MetricSeries("imagegate_downloads_active", [("protocol", scheme)])] = max(0, started - ended)
        }
        // A catalog that cannot answer leaves these series out rather than reporting zeros (/readyz says why).
        if let totals = catalogTotals.current() {
            var importing = 0.0
            for t in totals {
                values[MetricSeries("imagegate_images", [("status", t.status)])] = Double(t.images)
                values[MetricSeries("imagegate_image_bytes", [("status", t.status)])] = Double(t.bytes)
                if t.status == "uploading" || t.status == "making" { importing += Double(t.images) }
            }
            values[MetricSeries("imagegate_imports_active")] = importing
        }
        return MetricText.render(families, values: values)
    }
}

/// `imageTotals()` remembered for a few seconds. The query is a `GROUP BY` over every image row (a scan that
/// grows with the catalog), and Prometheus may scrape every second or from several servers; the gauges it
/// feeds move with imports and deletions, so a few seconds' delay changes nothing an alert looks at. A
/// failed query is not remembered: the next scrape asks again.
final class CatalogTotals: Sendable {
    typealias Totals = [(status: String, images: Int64, bytes: Int64)]
    static let maxAgeMs: Int64 = 5000

    private let catalog: any CatalogHealth
    private let now: @Sendable () -> Int64
    private let last = Mutex<(atMs: Int64, totals: Totals)?>(nil)

    init(catalog: any CatalogHealth, now: @escaping @Sendable () -> Int64) {
        self.catalog = catalog
        self.now = now
    }

    /// The totals of a query at most `maxAgeMs` old, nil when the catalog cannot answer.
    func current() -> Totals? {
        let t = now()
        if let l = last.withLock({ $0 }), t - l.atMs < Self.maxAgeMs { return l.totals }
        guard let totals = try? catalog.imageTotals() else { return nil }
        last.withLock { $0 = (t, totals) }
        return totals
    }
}

/// The running listeners, set once they are bound; read by each scrape for the connection gauges.
final class LiveListeners: Sendable {
    private struct Fronts {
        var http: HTTPListener?
        var https: HTTPListener?
        var ftp: FTPListener?
        var sftp: SFTPListener?
    }
    private let fronts = Mutex(Fronts())

    func set(http: HTTPListener, https: HTTPListener, ftp: FTPListener?, sftp: SFTPListener) {
        fronts.withLock { $0 = Fronts(http: http, https: https, ftp: ftp, sftp: sftp) }
    }

    /// `imagegate_connections_open{front}`; FTP and SFTP sessions serve one image each, so their open sessions
    /// are also their `imagegate_downloads_active` (FTP and FTPS share one listener: counted as ftp).
    @Sendable func gauges() -> [(MetricSeries, Double)] {
        let f = fronts.withLock { $0 }
        func open(_ front: String, _ n: Int?) -> (MetricSeries, Double) {
            (MetricSeries("imagegate_connections_open", [("front", front)]), Double(n ?? 0))
        }
        func active(_ proto: String, _ n: Int?) -> (MetricSeries, Double) {
            (MetricSeries("imagegate_downloads_active", [("protocol", proto)]), Double(n ?? 0))
        }
        return [
            open("http", f.http?.openConnections), open("https", f.https?.openConnections),
            open("ftp", f.ftp?.openSessions), open("sftp", f.sftp?.openSessions),
            active("ftp", f.ftp?.openSessions), active("sftp", f.sftp?.openSessions),
        ]
    }
}
