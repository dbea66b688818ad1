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
    /// The request's head (nil before one was parsed): its path becomes a String only when a line is written.
    var head: RequestHead?
    var status: Int
    var bytesSent: UInt64
    var outcome: AccessOutcome
    var note: String?
    var session: DownloadGrant? = nil

    /// The raw request path ("-" without a head); redacted (tokens) only when a line is actually written.
    var path: String { head?.path ?? "-" }
    /// Whether the path is under the management API, read from the head's bytes (counted on every request).
    var isAPI: Bool { head?.pathHasPrefix("/api/") ?? false }
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
        line.add("path", r.head == nil ? "-" : redact(r.path))
        line.add("status", r.status)
        line.add("bytes", r.bytesSent)
        line.add("duration_ms", nowMs - r.startedMs)
        line.add("outcome", r.outcome)
        line.add("note", ifPresent: r.note)
        sink.write(line: line.finish())
    }
}
