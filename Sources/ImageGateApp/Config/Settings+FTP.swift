//===----------------------------------------------------------------------===//
// ImageGate: the FTP front's settings (ftp.*) and the shared TLS certificate settings (tls.*).
//===----------------------------------------------------------------------===//
import FTPServer
import GateCore
import SystemIO

/// `ftp.*`: where the FTP/FTPS listener is and what it allows. See Docs/ftp.md.
public struct FTPSettings: Sendable {
    /// nil = no FTP listener (`ftp.listen = off`).
    public var listen: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 2121)
    /// Passive data ports; nil = an ephemeral port per PASV/EPSV.
    public var passivePorts: ClosedRange<UInt16>? = nil
    /// Plain FTP (no AUTH TLS): the token crosses the network in clear text. Off by default.
    public var allowPlain = false
    /// Connect → successful PASS, else 421 and close.
    public var loginTimeoutMs: Int64 = 30_000
    /// `ftp.public_host` (Settings+Cluster.swift): the address links name and 227 replies carry.
    var publicHost: PublicHost? = nil

    public init() {}

    var serverConfig: FTPConfig {
        var c = FTPConfig()
        c.passivePorts = passivePorts
        c.allowPlain = allowPlain
        c.loginTimeoutMs = loginTimeoutMs
        return c
    }

    /// `50000-50999`, or empty for ephemeral ports.
    static func parsePorts(_ v: String) throws(GateError) -> ClosedRange<UInt16>? {
        if v.isEmpty { return nil }
        let parts = v.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let lo = UInt16(parts[0].trimmingWhitespace()),
            let hi = UInt16(parts[1].trimmingWhitespace()), lo >= 1024, lo <= hi
        else {
            throw GateError.usage("ftp.passive_ports: expected LOW-HIGH with 1024 ≤ LOW ≤ HIGH ≤ 65535, or empty")
        }
        return lo...hi
    }
}

extension SettingKey {
    static let ftp: [SettingKey] = [
        SettingKey(
            name: "ftp.listen", defaultText: "127.0.0.1:2121",
            help: "HOST:PORT of the FTP/FTPS listener (explicit AUTH TLS), or off."
        ) { s, v throws(GateError) in
            if v == "off" {
                s.ftp.listen = nil
                return
            }
            guard let a = ListenAddress(v) else {
                throw GateError.usage("ftp.listen: expected HOST:PORT or off, got \(v)")
            }
            s.ftp.listen = a
        },
        SettingKey(
            name: "ftp.passive_ports", defaultText: "",
            help: "Passive data port range LOW-HIGH, e.g. 50000-50999 (empty: an ephemeral port each time)."
        ) { s, v throws(GateError) in s.ftp.passivePorts = try FTPSettings.parsePorts(v) },
        SettingKey(
            name: "ftp.login_timeout", defaultText: "30s",
            help: "From connect to a successful login; a control connection that has not logged in by then is closed."
        ) { s, v throws(GateError) in s.ftp.loginTimeoutMs = try duration(v, "ftp.login_timeout") * 1000 },
        SettingKey(
            name: "ftp.allow_plain", defaultText: "false",
            help: "Allow FTP without TLS (the token travels in clear text): true or false."
        ) { s, v throws(GateError) in s.ftp.allowPlain = try boolean(v, "ftp.allow_plain") },
    ]
}
