//===----------------------------------------------------------------------===//
// ImageGate: the metric names and label values every module counts with (Docs/operations.md).
//===----------------------------------------------------------------------===//

/// Names and label values in one place, so a front cannot invent a label value the docs do not list.
public enum ImageGateMetrics {
    public static let protocols = ["http", "https", "ftp", "ftps", "sftp"]
    public static let fronts = protocols + ["api"]
    public static let statusClasses = ["2xx", "3xx", "4xx", "5xx"]

    public static func statusClass(_ status: Int) -> String { statusClasses[statusClassIndex(status)] }

    /// The position of `status`'s class in `statusClasses` (1xx and anything odd count as 5xx).
    public static func statusClassIndex(_ status: Int) -> Int {
        switch status {
        case 200..<300: 0
        case 300..<400: 1
        case 400..<500: 2
        default: 3
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
        guard Metrics.isEnabled else { return }
        if let counters = transfers(proto) { return counters.ended(outcome: outcome, bytes: bytes) }
        Metrics.add(MetricSeries("imagegate_bytes_sent_total", [("protocol", proto)]), Double(bytes))
        Metrics.add(MetricSeries("imagegate_download_sessions_total", [("protocol", proto), ("outcome", outcome)]))
    }

    /// The transfer counters of a `protocols` value; nil for anything else.
    public static func transfers(_ proto: String) -> TransferCounters? {
        switch proto {
        case "http": httpTransfers
        case "https": httpsTransfers
        case "ftp": ftpTransfers
        case "ftps": ftpsTransfers
        case "sftp": sftpTransfers
        default: nil
        }
    }
    static let httpTransfers = TransferCounters("http")
    static let httpsTransfers = TransferCounters("https")
    static let ftpTransfers = TransferCounters("ftp")
    static let ftpsTransfers = TransferCounters("ftps")
    static let sftpTransfers = TransferCounters("sftp")

    /// The access logs' outcome words of transfers (HTTP download responses, FTP RETR, SFTP sessions), the
    /// usual ones first: each protocol registers a slot per word up front. A word not listed still counts,
    /// registered on first use (a lock and a hash that once).
    public static let transferOutcomes = [
        "ok", "completed", "client_abort", "peer_closed", "aborted", "connection_lost", "disconnected", "stalled",
        "send_timeout", "shutdown", "truncated", "write_error", "internal", "control_lost", "local_error",
        "tls_failed", "no_data_connection", "revoked", "protocol_error", "token_session_cap", "auth_failed",
        "no_subsystem",
    ]

    /// The position of `word` in `transferOutcomes`, by a switch on the string (no hashing).
    public static func transferOutcomeIndex(_ word: String) -> Int? {
        switch word {
        case "ok": 0
        case "completed": 1
        case "client_abort": 2
        case "peer_closed": 3
        case "aborted": 4
        case "connection_lost": 5
        case "disconnected": 6
        case "stalled": 7
        case "send_timeout": 8
        case "shutdown": 9
        case "truncated": 10
        case "write_error": 11
        case "internal": 12
        case "control_lost": 13
        case "local_error": 14
        case "tls_failed": 15
        case "no_data_connection": 16
        case "revoked": 17
        case "protocol_error": 18
        case "token_session_cap": 19
        case "auth_failed": 20
        case "no_subsystem": 21
        default: nil
        }
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
            for c in statusClasses {
                requests.append(MetricSeries("imagegate_requests_total", [("front", f), ("status_class", c)]))
            }
        }
        return [
            MetricFamily("imagegate_build_info", .gauge, "Always 1; the version label says which build runs."),
            MetricFamily(
                "imagegate_bytes_sent_total", .counter,
                "Image bytes sent to download clients (response bodies of download links, FTP RETR data, SFTP reads).",
                seeds: seeds("imagegate_bytes_sent_total", "protocol", protocols)),
            MetricFamily(
                "imagegate_download_sessions_total", .counter,
                "Finished transfers (HTTP download response, FTP RETR, SFTP session) by the outcome of their access line."
            ),
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
            MetricFamily(
                "imagegate_import_bytes_total", .counter, "Bytes of images that finished importing.",
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
        ] + CacheMetrics.families()
    }
}

/// `imagegate_bytes_sent_total` and `imagegate_download_sessions_total` of one protocol, registered once: an
/// access line bumps two slots found by index. Only trivial fields (a StaticString, not a String), so using
/// one costs no reference counting.
public struct TransferCounters: Sendable {
    let proto: StaticString
    let bytes: MetricCounter
    let sessions: MetricCounterBlock

    public init(_ proto: StaticString) {
        self.proto = proto
        let proto = "\(proto)"
        bytes = Metrics.counter(MetricSeries("imagegate_bytes_sent_total", [("protocol", proto)]))
        sessions = Metrics.block(
            ImageGateMetrics.transferOutcomes.map {
                MetricSeries("imagegate_download_sessions_total", [("protocol", proto), ("outcome", $0)])
            })
    }

    public func ended(outcome: String, bytes sent: UInt64) {
        Metrics.add(bytes, Double(sent))
        if let i = ImageGateMetrics.transferOutcomeIndex(outcome), i < sessions.count {
            Metrics.add(sessions[i])
        } else {
            Metrics.add(
                MetricSeries("imagegate_download_sessions_total", [("protocol", "\(proto)"), ("outcome", outcome)]))
        }
    }
}
