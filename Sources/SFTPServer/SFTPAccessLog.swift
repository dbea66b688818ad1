//===----------------------------------------------------------------------===//
// ImageGate: one access-log line per SFTP session, in the HTTP front's JSON line format.
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO

/// `{"time":…,"proto":"sftp","peer":…,"user":<redacted token>,"path":…,"bytes":…,"duration_ms":…,
/// "outcome":…}`.
/// The user field is always the policy's redacted label (or `-` before login): never a token.
struct SFTPAccessLog: Sendable {
    let sink: LineSink?

    func write(peer: PeerAddress, user: String, path: String, bytes: UInt64, durationMs: Int64, outcome: AccessOutcome)
    {
        ImageGateMetrics.transferEnded(protocol: "sftp", outcome: outcome.rawValue, bytes: bytes)
        guard let sink else { return }
        var line = AccessLine(unixSeconds: SystemClock().now(), proto: "sftp")
        line.add("peer", peer.description)
        line.add("user", user)
        line.add("path", path)
        line.add("bytes", bytes)
        line.add("duration_ms", durationMs)
        line.add("outcome", outcome)
        sink.write(line: line.finish())
    }
}
