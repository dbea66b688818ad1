//===----------------------------------------------------------------------===//
// ImageGate: the metric names and label values every module counts with (Docs/operations.md).
//===----------------------------------------------------------------------===//

/// Names and label values in one place, so a front cannot invent a label value the docs do not list.
public enum ImageGateMetrics {
    public static let protocols = ["http", "https", "ftp", "ftps", "sftp"]
    public static let fronts = protocols + ["api"]
    public static let statusClasses = ["2xx", "3xx", "4xx", "5xx"]

    public static func statusClass(_ status: Int) -> String {
        switch status {
        case 200..<300: "2xx"
        case 300..<400: "3xx"
        case 400..<500: "4xx"
        default: "5xx"
        }
    }

    /// Buckets of `imagegate_catalog_seconds`: SQLite calls take tens of microseconds; a PostgreSQL round trip
    /// a millisecond or more; anything past 0.25 s is a problem worth an alert.
    public static let catalogSeconds = MetricHistogram(
        name: "imagegate_catalog_seconds",
        buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5])

    // MARK: bumps, one call at each access-log line or session end

    /// One finished transfer (HTTP download response, FTP RETR, SFTP session) as its access line records it.
    public static func transferEnded(protocol proto: String, outcome: String, bytes: UInt64) {
        Metrics.add(
            (MetricSeries("imagegate_bytes_sent_total", [("protocol", proto)]), Double(bytes)),
            (MetricSeries("imagegate_download_sessions_total", [("protocol", proto), ("outcome", outcome)]), 1))
    }

    /// One HTTP request answered on `front` (`http`, `https` or `api`).
    public static func request(front: String, status: Int) {
        Metrics.add(MetricSeries("imagegate_requests_total", [("front", front), ("status_class", statusClass(status))]))
    }

    /// Time spent in one catalog call (lock wait included: that is what a caller experiences).
    public static func catalogCall(seconds: Double) { Metrics.observe(catalogSeconds, seconds) }

    // MARK: families

    static func seeds(_ name: String, _ label: String, _ values: [String]) -> [MetricSeries] {
        values.map { MetricSeries(name, [(label, $0)]) }
    }

    /// Every family /metrics describes, in the order it renders them.
    public static func families() -> [MetricFamily] {
        var requests: [MetricSeries] = []
        for f in ["http", "https", "api"] {
            for c in statusClasses { requests.append(MetricSeries("imagegate_requests_total", [("front", f), ("status_class", c)])) }
        }
        return [
            MetricFamily("imagegate_build_info", .gauge, "Always 1; the version label says which build runs."),
            MetricFamily(
                "imagegate_bytes_sent_total", .counter,
                "Image bytes sent to download clients (response bodies of download links, FTP RETR data, SFTP reads).",
                seeds: seeds("imagegate_bytes_sent_total", "protocol", protocols)),
            MetricFamily(
                "imagegate_download_sessions_total", .counter,
                "Finished transfers (HTTP download response, FTP RETR, SFTP session) by the outcome of their access line."),
            MetricFamily(
                "imagegate_downloads_active", .gauge,
                "Transfers in progress: HTTP download responses being written, FTP/FTPS and SFTP sessions open.",
                seeds: seeds("imagegate_downloads_active", "protocol", protocols)),
            MetricFamily(
                "imagegate_connections_open", .gauge,
                "Open client connections per front (FTP control connections with or without AUTH TLS count as ftp).",
                seeds: seeds("imagegate_connections_open", "front", ["http", "https", "ftp", "sftp"])),
            MetricFamily(
                "imagegate_requests_total", .counter,
                "HTTP requests answered, by front (http, https; api = /api/v1 on either) and status class.",
                seeds: requests),
            MetricFamily(
                "imagegate_token_rejections_total", .counter,
                "Download attempts refused by the token or catalog check, by the access log's note (never the token)."),
            MetricFamily(
                "imagegate_imports_total", .counter, "Imports that ended, by source (upload, url, local) and result."),
            MetricFamily("imagegate_import_bytes_total", .counter, "Bytes of images that finished importing.",
                seeds: [MetricSeries("imagegate_import_bytes_total")]),
            MetricFamily("imagegate_imports_active", .gauge, "Images in state importing."),
            MetricFamily(histogram: catalogSeconds, help: "Duration of catalog calls, lock wait included."),
            MetricFamily(
                "imagegate_authorization_cache_hits_total", .counter,
                "Download requests answered from the one-second authorization cache.",
                seeds: [MetricSeries("imagegate_authorization_cache_hits_total")]),
            MetricFamily(
                "imagegate_authorization_cache_misses_total", .counter,
                "Download requests that verified the token and read the catalog.",
                seeds: [MetricSeries("imagegate_authorization_cache_misses_total")]),
            MetricFamily("imagegate_images", .gauge, "Images in the catalog by status."),
            MetricFamily("imagegate_image_bytes", .gauge, "Bytes of images in the catalog by status."),
        ]
    }
}
