//===----------------------------------------------------------------------===//
// ImageGate: the sftp.* settings (listener address, session caps, timeouts, login throttling).
//===----------------------------------------------------------------------===//
import GateCore
import SFTPServer
import SystemIO

extension SettingKey {
    static let sftpKeys: [SettingKey] = [
        SettingKey(
            name: "sftp.listen", defaultText: "127.0.0.1:2222", help: "HOST:PORT of the SFTP (SSH) listener."
        ) { s, v throws(GateError) in
            guard let a = ListenAddress(v) else { throw GateError.usage("sftp.listen: expected HOST:PORT, got \(v)") }
            s.sftpListen = a
        },
        SettingKey(name: "sftp.max_sessions", defaultText: "64", help: "SFTP sessions at once (one thread each).") {
            s, v throws(GateError) in s.sftp.maxSessions = try count(v, "sftp.max_sessions", min: 1)
        },
        SettingKey(
            name: "sftp.max_sessions_per_token", defaultText: "32", help: "SFTP sessions at once with one token."
        ) { s, v throws(GateError) in
            s.sftp.maxSessionsPerToken = try count(v, "sftp.max_sessions_per_token", min: 1)
        },
        SettingKey(
            name: "sftp.login_timeout", defaultText: "30s", help: "From connect to an open sftp subsystem."
        ) { s, v throws(GateError) in s.sftp.loginTimeoutMs = try duration(v, "sftp.login_timeout") * 1000 },
        SettingKey(
            name: "sftp.idle_timeout", defaultText: "5m", help: "Close a session that sends no request for this long."
        ) { s, v throws(GateError) in s.sftp.idleTimeoutMs = try duration(v, "sftp.idle_timeout") * 1000 },
        SettingKey(
            name: "sftp.stall_timeout", defaultText: "60s",
            help: "Close a session whose client takes no data this long."
        ) { s, v throws(GateError) in s.sftp.stallTimeoutMs = try duration(v, "sftp.stall_timeout") * 1000 },
        SettingKey(
            name: "sftp.max_sessions_per_address", defaultText: "48",
            help: "Logged-in SFTP sessions at once from one client address."
        ) { s, v throws(GateError) in
            s.sftp.maxSessionsPerAddress = try count(v, "sftp.max_sessions_per_address", min: 1)
        },
        SettingKey(
            name: "sftp.max_unauthenticated", defaultText: "64",
            help: "Connections still in key exchange or login at once (counted apart from sessions)."
        ) { s, v throws(GateError) in
            s.sftp.maxUnauthenticated = try count(v, "sftp.max_unauthenticated", min: 1)
        },
        SettingKey(
            name: "sftp.max_unauthenticated_per_address", defaultText: "10",
            help: "Connections still in key exchange or login at once from one client address."
        ) { s, v throws(GateError) in
            s.sftp.maxUnauthenticatedPerAddress = try count(v, "sftp.max_unauthenticated_per_address", min: 1)
        },
        SettingKey(
            name: "sftp.connections_per_second", defaultText: "8",
            help: "New connections per second from one client address (bursts of twice that); more are closed."
        ) { s, v throws(GateError) in
            s.sftp.connectionsPerSecondPerAddress = try count(v, "sftp.connections_per_second", min: 1)
        },
        SettingKey(
            name: "sftp.kex_timeout", defaultText: "10s",
            help: "From connect to the end of the key exchange (the pre-auth deadline)."
        ) { s, v throws(GateError) in s.sftp.kexTimeoutMs = try duration(v, "sftp.kex_timeout") * 1000 },
        SettingKey(
            name: "sftp.algorithms", defaultText: "modern",
            help: "SSH algorithm set: strict (ETM MACs only), modern, or legacy (adds NIST ECDH and DH group 14)."
        ) { s, v throws(GateError) in
            guard let set = SSHAlgorithmSet(rawValue: v) else {
                throw GateError.usage("sftp.algorithms: expected strict, modern or legacy, got \(JSONText.quote(v))")
            }
            s.sftp.algorithms = set
        },
        SettingKey(
            name: "sftp.compression", defaultText: "false",
            help: "Offer zlib compression (true or false); off, the server offers only none."
        ) { s, v throws(GateError) in s.sftp.compression = try boolean(v, "sftp.compression") },
        SettingKey(
            name: "sftp.max_auth_failures", defaultText: "30",
            help: "Failed logins per client address per minute before all its logins are refused."
        ) { s, v throws(GateError) in
            s.sftp.maxAuthFailuresPerMinute = try count(v, "sftp.max_auth_failures", min: 1)
        },
    ]
}
