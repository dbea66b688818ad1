//===----------------------------------------------------------------------===//
// ImageGate: `imagegate link mint`.
//===----------------------------------------------------------------------===//
import GateCore
import ImageManagement

enum LinkCommands {
    static let revoke = APICommand(name: "revoke", usage: "link revoke SERIAL", request: { a throws(GateError) in
        try a.noMorePositionals(than: 1)
        return ("DELETE", "/api/v1/links/\(LocalAPI.encode(try a.positional(0, "link serial")))", [:], nil)
    }, render: { print("revoked link \(Render.text(Render.object($0)["serial"]))") })

    static let help = """
        Usage: imagegate link mint IMAGE_ID [--ttl DURATION] [--json]
               imagegate link revoke SERIAL

          revoke: the link with that serial (printed by mint --json, and in the audit log) stops working
          for new requests within a second.

          Mint a signed download link for an available image. The link is valid for 24h by default
          (--ttl 30m, 12h, 7d …; at most tokens.max_ttl). Anyone holding the link can download the
          image until it expires, so share it like a password.

          Prints one labelled URL per protocol, the serial and the expiry; with --json an object with one URL
          per enabled protocol ("https"; "http" when plain HTTP links are enabled, see http.plain_links; "ftp";
          "sftp"),
          "commands" (ready command lines that resume: https_wget, https_curl, https_aria2c, ftp_wget,
          ftp_curl, ftp_lftp, ftp_lftp_parallel), "sftp_commands" (OpenSSH sftp, lftp and curl), "serial",
          "expires_at" (RFC 3339), and with the self-signed certificate "ca_certificate" and "ca_sha256": each
          TLS command first fetches that certificate and checks its digest. What the token may do (plain HTTP,
          plain FTP) follows the running server's policy; without a running server, this configuration's (a
          warning says so). Links point at the running server's addresses, or http.public_url /
          https.public_url when set; with no server running the addresses come from the configuration, and a
          warning on standard error says so.

        Common options: --data-dir DIR, --config FILE.
        """

    static func run(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        try ImageGateCLI.group(
            args, help: help,
            verbs: [
                "mint": mint,
                "revoke": AdminCommands.wrap(revoke, help),
            ])
    }

    /// Without a running server (no live run file) the link's addresses come from the configuration, whose
    /// ports may not be the ones a server will listen on (port 0, --http flags): say so on standard error.
    static func configuredAddressWarning(_ settings: Settings) -> String? {
        guard RunFile.read(settings.runFile) == nil else { return nil }
        var configured: [String] = []
        if settings.httpsPublicURL.isEmpty { configured.append("https \(settings.httpsListen)") }
        if settings.plainLinksEnabled && settings.httpPublicURL.isEmpty { configured.append("http \(settings.httpListen)") }
        if let ftp = settings.ftp.listen { configured.append("ftp \(ftp)") }
        configured.append("sftp \(settings.sftpListen)")
        return "warning: no server is running (no \(absolutePath(settings.runFile))): the link's addresses come from "
            + "the configuration (\(configured.joined(separator: ", "))) and may not be where a server listens; "
            + "start the server first, or set http.public_url / https.public_url; what the link may do follows this "
            + "configuration's link policy (http.plain_links, ftp.*)"
    }

    static func mint(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard let args = try CommandPrelude.parse(
            raw, valueOptions: ["--ttl"], flagOptions: ["--json"], maxPositionals: 1, help: help)
        else { return ExitCode.success }
        let id = try ImageCommands.parseImageID(try args.positional(0, "image ID"))
        var ttl: Int64?
        if let t = args.value("--ttl") {
            guard let d = DurationText.parse(t), d > 0 else {
                throw GateError.usage("--ttl: expected a duration like 30m, 24h or 7d")
            }
            ttl = d
        }
        let link: [String: Any]
        if let remote = try RemoteAPI.from(args) {
            var body: [String: Any] = [:]
            if let ttl { body["ttl"] = "\(ttl)s" }
            let answer = try remote.call("POST", "/api/v1/images/\(id)/links", body: body)
            try answer.check()
            if args.json {
                print(String(decoding: answer.raw, as: UTF8.self))
                return ExitCode.success
            }
            link = Render.object(answer.json)
        } else {
            let (minted, warning) = try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
                (try LinkMinter(data: data).mint(.localAdmin, id, ttl: ttl, source: "cli", service: data.service),
                 configuredAddressWarning(data.settings))
            }
            if let warning {
                printError(warning)
            } else if !minted.policyFromServer {
                printError("no server is running: the link follows this configuration's link policy "
                    + "(http.plain_links, ftp.*); mint while the server runs, or with its --config")
            }
            link = APIJSON.link(minted)
            if args.json {
                Output.json(link)
                return ExitCode.success
            }
        }
        printLink(link)
        return ExitCode.success
    }

    /// The human form of a minted link, the same for a local and a remote mint: one labelled line per
    /// protocol, the serial (for `link revoke`), the expiry, and where to get the certificate to trust.
    static func printLink(_ o: [String: Any]) {
        var rows: [[String]] = []
        for (proto, label) in [("https", "HTTPS"), ("http", "HTTP"), ("ftp", "FTP"), ("sftp", "SFTP")] {
            if let url = o[proto] as? String { rows.append([label + ":", url]) }
        }
        rows.append(["serial:", Render.text(o["serial"])])
        rows.append(["expires:", Render.text(o["expires_at"])])
        if let ca = o["ca_certificate"] as? String {
            let digest = Render.text(o["ca_sha256"])
            rows.append(["certificate:", "\(ca) (sha256 \(digest); the commands in --json fetch and check it)"])
        }
        let width = rows.map { $0[0].count }.max() ?? 0
        for r in rows { print(r[0] + String(repeating: " ", count: width - r[0].count + 1) + r[1]) }
    }
}
