//===----------------------------------------------------------------------===//
// ImageGate: the shared access-log line builder and its outcome words.
//===----------------------------------------------------------------------===//
import GateCore
import Testing

@Suite struct AccessLineTests {
    /// The HTTP front's line, field for field as Docs/architecture.md "Logs" lists it.
    @Test func httpLineKeepsFieldsInOrder() {
        var line = AccessLine(unixSeconds: 784_111_777, proto: "https")
        line.add("peer", "127.0.0.1:40000")
        line.add("method", "GET")
        line.add("path", "/d/igt1.e6232d68.aafe81e7…/disk.img")
        line.add("status", 206)
        line.add("bytes", UInt64(1_048_576))
        line.add("duration_ms", Int64(12))
        line.add("outcome", AccessOutcome.clientAbort)
        line.add("note", ifPresent: "range")
        #expect(
            line.finish()
                == #"{"time":"1994-11-06T08:49:37Z","proto":"https","peer":"127.0.0.1:40000","method":"GET","#
                + #""path":"/d/igt1.e6232d68.aafe81e7…/disk.img","status":206,"bytes":1048576,"duration_ms":12,"#
                + #""outcome":"client_abort","note":"range"}"#)
    }

    @Test func absentOptionalFieldsAreLeftOut() {
        var line = AccessLine(unixSeconds: 0, proto: "ftp")
        line.add("status", 530)
        line.add("offset", UInt64(0))
        line.add("token", ifPresent: nil)
        line.add("data_tls", ifPresent: "resumed")
        line.add("note", ifPresent: nil)
        #expect(
            line.finish()
                == #"{"time":"1970-01-01T00:00:00Z","proto":"ftp","status":530,"offset":0,"data_tls":"resumed"}"#)
    }

    @Test func negativeAndLargeNumbers() {
        var line = AccessLine(unixSeconds: 0, proto: "sftp")
        line.add("a", -1)
        line.add("b", Int64.min)
        line.add("c", UInt64.max)
        #expect(line.finish().hasSuffix(#","a":-1,"b":-9223372036854775808,"c":18446744073709551615}"#))
    }

    @Test(arguments: [
        ("plain", #""plain""#),
        ("a\"b", #""a\"b""#),
        ("a\\b", #""a\\b""#),
        ("line\nfeed\r\ttab", #""line\nfeed\r\ttab""#),
        ("\u{0}\u{1}\u{1f}\u{7f}", #""\u0000\u0001\u001f\u007f""#),
        ("é/日本/🙂", "\"é/日本/🙂\""),
        ("mixed é\"\n🙂", #""mixed é\"\n🙂""#),
        ("", #""""#),
    ])
    func escapesValues(value: String, expected: String) {
        var line = AccessLine(unixSeconds: 0, proto: "http")
        line.add("path", value)
        #expect(line.finish() == #"{"time":"1970-01-01T00:00:00Z","proto":"http","path":"# + expected + "}")
        #expect(JSONText.quote(value) == expected)
    }

    @Test func protoIsEscapedToo() {
        let line = AccessLine(unixSeconds: 0, proto: "x\"y")
        #expect(line.finish() == #"{"time":"1970-01-01T00:00:00Z","proto":"x\"y"}"#)
    }

    /// The words are the log format and the `outcome` label of imagegate_download_sessions_total: this list is
    /// written out by hand so that renaming a case's word fails here.
    @Test func everyOutcomeHasItsLoggedWord() {
        let words: [AccessOutcome: String] = [
            .ok: "ok", .clientAbort: "client_abort", .sendTimeout: "send_timeout", .truncated: "truncated",
            .writeError: "write_error", .internal: "internal", .shutdown: "shutdown", .refused: "refused",
            .badRequest: "bad_request", .storeUnavailable: "store_unavailable", .complete: "complete",
            .aborted: "aborted", .quit: "quit",
            .peerClosed: "peer_closed", .stalled: "stalled", .controlLost: "control_lost", .localError: "local_error",
            .noDataConnection: "no_data_connection", .tlsFailed: "tls_failed", .denied: "denied",
            .completed: "completed", .authFailed: "auth_failed", .kexFailed: "kex_failed",
            .kexTimeout: "kex_timeout", .loginTimeout: "login_timeout", .idleTimeout: "idle_timeout",
            .stallTimeout: "stall_timeout", .serverStop: "server_stop", .noSubsystem: "no_subsystem",
            .revoked: "revoked", .disconnected: "disconnected", .protocolError: "protocol_error",
            .connectionLost: "connection_lost", .tokenSessionCap: "token_session_cap", .rateLimited: "rate_limited",
            .preauthAddressCap: "preauth_address_cap", .preauthCap: "preauth_cap", .addressCap: "address_cap",
            .sessionCap: "session_cap",
        ]
        #expect(Set(AccessOutcome.allCases) == Set(words.keys))
        for (outcome, word) in words {
            var line = AccessLine(unixSeconds: 0, proto: "http")
            line.add("outcome", outcome)
            #expect(line.finish() == #"{"time":"1970-01-01T00:00:00Z","proto":"http","outcome":""# + word + #""}"#)
            #expect("\(outcome)" == word)
        }
    }
}
