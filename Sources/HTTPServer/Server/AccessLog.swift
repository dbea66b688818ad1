//===----------------------------------------------------------------------===//
// ImageGate: one structured line per request.
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO

/// What one request did, written as one JSON line when it ends (completed, aborted or cut).
struct AccessRecord {
    var startedMs: Int64
    var peer: PeerAddress
    var method: String
    /// The raw request path; redacted (tokens) only when a line is actually written.
    var path: String
    var status: Int
    var bytesSent: UInt64
    var outcome: AccessOutcome
    var note: String?
    var session: DownloadGrant? = nil
}

struct AccessLog: Sendable {
    let sink: LineSink?
    let scheme: String
    /// Replaces secrets in a path (the handler's `loggablePath`).
    let redact: @Sendable (String) -> String

    func write(_ r: AccessRecord, nowMs: Int64, wallNow: Int64) {
        HTTPMetrics.count(r, scheme: scheme)
        guard let sink else { return }
        var line = AccessLine(unixSeconds: wallNow, proto: scheme)
        line.add("peer", r.peer.description)
        line.add("method", r.method)
        line.add("path", r.path == "-" ? r.path : redact(r.path))
        line.add("status", r.status)
        line.add("bytes", r.bytesSent)
        line.add("duration_ms", nowMs - r.startedMs)
        line.add("outcome", r.outcome)
        line.add("note", ifPresent: r.note)
        sink.write(line: line.finish())
    }
}
