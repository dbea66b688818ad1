//===----------------------------------------------------------------------===//
// ImageGate: the FTP front's access lines (same JSON shape as HTTP's) and its failed-login ledger.
//===----------------------------------------------------------------------===//
import GateCore
import Synchronization
import SystemIO

/// What one login or transfer did, written as one JSON line when it ends.
struct FTPAccessRecord {
    var startedMs: Int64
    var proto: String
    var peer: PeerAddress
    var method: String
    var path: String
    var status: Int
    var bytes: UInt64 = 0
    var offset: UInt64 = 0
    var outcome: String
    var token: String?
    var dataTLS: String?
    var note: String?
}

struct FTPAccessLog: Sendable {
    let sink: LineSink?

    func write(_ r: FTPAccessRecord) {
        if r.method == "RETR" { ImageGateMetrics.transferEnded(protocol: r.proto, outcome: r.outcome, bytes: r.bytes) }
        guard let sink else { return }
        var line = "{\"time\":\"\(TimeFormat.rfc3339(SystemClock().now()))\",\"proto\":\"\(r.proto)\""
        line += ",\"peer\":\(JSONText.quote(r.peer.description)),\"method\":\(JSONText.quote(r.method))"
        line += ",\"path\":\(JSONText.quote(r.path)),\"status\":\(r.status),\"bytes\":\(r.bytes)"
        line += ",\"offset\":\(r.offset),\"duration_ms\":\(Monotonic.milliseconds() - r.startedMs)"
        line += ",\"outcome\":\(JSONText.quote(r.outcome))"
        if let t = r.token { line += ",\"token\":\(JSONText.quote(t))" }
        if let d = r.dataTLS { line += ",\"data_tls\":\(JSONText.quote(d))" }
        if let n = r.note { line += ",\"note\":\(JSONText.quote(n))" }
        sink.write(line: line + "}")
    }
}

/// Failed logins per client address in a sliding window (Docs/protocols.md §6.3 "max failed logins per IP").
final class FailureLedger: Sendable {
    private let entries = Mutex<[String: [Int64]]>([:])
    private let limit: Int
    private let windowMs: Int64

    init(limit: Int, windowSeconds: Int64) {
        self.limit = limit
        self.windowMs = windowSeconds * 1000
    }

    func record(_ host: String) {
        let now = Monotonic.milliseconds()
        entries.withLock { e in
            if e.count > 10_000 { e = e.filter { $0.value.last.map { now - $0 < windowMs } ?? false } }
            var list = (e[host] ?? []).filter { now - $0 < windowMs }
            list.append(now)
            e[host] = Array(list.suffix(limit + 1))
        }
    }

    func blocked(_ host: String) -> Bool {
        let now = Monotonic.milliseconds()
        return entries.withLock { e in (e[host] ?? []).filter { now - $0 < windowMs }.count >= limit }
    }
}
