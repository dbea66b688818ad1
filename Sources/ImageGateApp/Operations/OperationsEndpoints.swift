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
        if let totals = try? catalog.imageTotals() {
            var importing = 0.0
            for t in totals {
                values[MetricSeries("imagegate_images", [("status", t.status)])] = Double(t.images)
                values[MetricSeries("imagegate_image_bytes", [("status", t.status)])] = Double(t.bytes)
                if t.status == "uploading" || t.status == "making" { importing += Double(t.images) }
            }
            values[MetricSeries("imagegate_imports_active")] = importing
        }
        return MetricText.render(ImageGateMetrics.families(), values: values)
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
