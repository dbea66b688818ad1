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
    var outcome: String
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
        var line = "{\"time\":\"\(TimeFormat.rfc3339(wallNow))\",\"proto\":\"\(scheme)\""
        line += ",\"peer\":\(JSONText.quote(r.peer.description)),\"method\":\(JSONText.quote(r.method))"
        line += ",\"path\":\(JSONText.quote(r.path == "-" ? r.path : redact(r.path))),\"status\":\(r.status),\"bytes\":\(r.bytesSent)"
        line += ",\"duration_ms\":\(nowMs - r.startedMs),\"outcome\":\"\(r.outcome)\""
        if let note = r.note { line += ",\"note\":\(JSONText.quote(note))" }
        line += "}"
        sink.write(line: line)
    }
}
