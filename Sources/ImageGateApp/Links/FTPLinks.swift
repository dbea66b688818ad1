//===----------------------------------------------------------------------===//
// ImageGate: the FTP form of a minted link and ready-to-run resuming commands (see Docs/ftp.md).
//===----------------------------------------------------------------------===//
import DownloadTokens
import Foundation
import GateCore
import SystemIO

/// Link form: `ftp://<image-id>:<token>@HOST:PORT/<file name>`, explicit TLS negotiated by the client.
///
/// Why `ftp://` and not `ftps://`: curl and lftp read `ftps://` as *implicit* TLS (TLS from the first byte,
/// the port-990 style), which this server does not speak; wget reads it as explicit AUTH TLS. `ftp://` means
/// the same thing to all three, and each upgrades with AUTH TLS when told to (curl `--ssl-reqd`, lftp by
/// itself and strictly with `ftp:ssl-force`); wget needs the URL rewritten to `ftps://` — the commands
/// below do that. The token sits in the password part: its characters (`A-Z a-z 0-9 . - _`) are all RFC 3986
/// `unreserved`, so no percent-encoding is needed.
enum FTPLinks {
    /// `ftp.public_host` (the balancer's address; its port, else the listener's) when set, else `HOST:PORT`
    /// of the running FTP listener, else the configured one; nil when FTP is off.
    static func address(_ settings: Settings) -> String? {
        guard let configured = settings.ftp.listen else { return nil }
        var address = configured.description
        if let run = RunFile.read(settings.runFile) {
            guard let ftp = run.ftp else { return nil }
            address = ftp
        }
        if let publicHost = settings.ftp.publicHost {
            return publicHost.address(listenerPort: ListenAddress(address)?.port ?? configured.port)
        }
        return LinkBases.reachable(address)
    }

    static func url(address: String, user: String, token: String, fileName: String) -> String {
        "ftp://\(user):\(token)@\(address)/\(fileName)"
    }

    /// Commands that download into the current directory and resume a partial file when run again. With a
    /// pin each first fetches and checks the served certificate (never a path on the server's disk).
    static func commands(url: String, pin: CertificatePin?) -> [(String, String)] {
        let ftps = "ftps://" + url.dropFirst("ftp://".count)
        var wget = "wget -c"
        var curl = "curl -C - --ssl-reqd -O"
        var lftp = "set ftp:ssl-force true; set ftp:ssl-protect-data true; "
        var fetchWget = "", fetchCurl = ""
        if let pin {
            wget += " --ca-certificate=\(pin.file)"
            curl += " --cacert \(pin.file)"
            lftp = "set ssl:ca-file \(pin.file); " + lftp
            fetchWget = pin.fetch(with: "wget")
            fetchCurl = pin.fetch(with: "curl")
        }
        return [
            ("wget", "\(fetchWget)\(wget) \(shellQuote(ftps))"),
            ("curl", "\(fetchCurl)\(curl) \(shellQuote(url))"),
            ("lftp", "\(fetchCurl)lftp -c \(shellQuote(lftp + "get -c " + url))"),
            ("lftp_parallel", "\(fetchCurl)lftp -c \(shellQuote(lftp + "pget -n 4 -c " + url))"),
        ]
    }

    static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
