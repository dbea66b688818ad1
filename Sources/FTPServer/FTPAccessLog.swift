//===----------------------------------------------------------------------===//
// ImageGate: the FTP front's access lines (same JSON shape as HTTP's).
//===----------------------------------------------------------------------===//
import GateCore
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
    var outcome: AccessOutcome
    var token: String?
    var dataTLS: String?
    var note: String?
}

struct FTPAccessLog: Sendable {
    let sink: LineSink?

    func write(_ r: FTPAccessRecord) {
        if r.method == "RETR" {
            ImageGateMetrics.transferEnded(protocol: r.proto, outcome: r.outcome.rawValue, bytes: r.bytes)
        }
        guard let sink else { return }
        var line = AccessLine(unixSeconds: SystemClock().now(), proto: r.proto)
        line.add("peer", r.peer.description)
        line.add("method", r.method)
        line.add("path", r.path)
        line.add("status", r.status)
        line.add("bytes", r.bytes)
        line.add("offset", r.offset)
        line.add("duration_ms", Monotonic.milliseconds() - r.startedMs)
        line.add("outcome", r.outcome)
        line.add("token", ifPresent: r.token)
        line.add("data_tls", ifPresent: r.dataTLS)
        line.add("note", ifPresent: r.note)
        sink.write(line: line.finish())
    }
}
