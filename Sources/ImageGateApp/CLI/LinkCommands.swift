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

          Prints the URLs and the expiry; with --json an object with one URL per enabled protocol
          ("https"; "http" when plain HTTP links are enabled, see http.plain_links; "ftp"; "sftp"),
          "commands" (ready wget/curl/lftp command lines for FTP that resume), "sftp_commands" (the same for
          OpenSSH sftp, lftp and curl) and "expires_at" (RFC 3339). Works from the data directory without a
          running server; links point at the running server's addresses, or http.public_url /
          https.public_url when set. With no server running the addresses come from the configuration, and a
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
            + "start the server first, or set http.public_url / https.public_url"
    }

    static func mint(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        let args = try Arguments(raw, valueOptions: ["--ttl"], flagOptions: ["--json"])
        if args.wantsHelp {
            print(help)
            return ExitCode.success
        }
        try args.noMorePositionals(than: 1)
        let id = try ImageCommands.parseImageID(try args.positional(0, "image ID"))
        var ttl: Int64?
        if let t = args.value("--ttl") {
            guard let d = DurationText.parse(t), d > 0 else {
                throw GateError.usage("--ttl: expected a duration like 30m, 24h or 7d")
            }
            ttl = d
        }
        if let remote = try RemoteAPI.from(args) {
            var body: [String: Any] = [:]
            if let ttl { body["ttl"] = "\(ttl)s" }
            let answer = try remote.call("POST", "/api/v1/images/\(id)/links", body: body)
            try answer.check()
            print(String(decoding: answer.raw, as: UTF8.self))
            return ExitCode.success
        }
        let settings = try loadSettings(args)
        let data = try DataDirectory.open(settings)
        defer { data.close() }
        let minter = LinkMinter(data: data)
        let link = try minter.mint(.localAdmin, id, ttl: ttl, source: "cli", service: data.service)
        if let warning = configuredAddressWarning(settings) { printError(warning) }
        if args.json {
            Output.json(APIJSON.link(link))
        } else {
            for (_, url) in link.urls { print(url) }
            print("expires \(TimeFormat.rfc3339(link.expiresAt)) (in \(DurationText.format(link.expiresAt - link.issuedAt)))")
        }
        return ExitCode.success
    }
}
