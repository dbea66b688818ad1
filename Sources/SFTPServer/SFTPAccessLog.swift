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

    func write(peer: PeerAddress, user: String, path: String, bytes: UInt64, durationMs: Int64, outcome: String) {
        ImageGateMetrics.transferEnded(protocol: "sftp", outcome: outcome, bytes: bytes)
        guard let sink else { return }
        var line = "{\"time\":\"\(TimeFormat.rfc3339(SystemClock().now()))\",\"proto\":\"sftp\""
        line += ",\"peer\":\(JSONText.quote(peer.description)),\"user\":\(JSONText.quote(user))"
        line += ",\"path\":\(JSONText.quote(path)),\"bytes\":\(bytes),\"duration_ms\":\(durationMs)"
        line += ",\"outcome\":\(JSONText.quote(outcome))}"
        sink.write(line: line)
    }
}
