//===----------------------------------------------------------------------===//
// ImageGate: `imagegate link mint`.
//===----------------------------------------------------------------------===//
import GateCore

enum LinkCommands {
    static let help = """
        Usage: imagegate link mint IMAGE_ID [--ttl DURATION] [--json]

          Mint a signed download link for an available image. The link is valid for 24h by default
          (--ttl 30m, 12h, 7d …; at most tokens.max_ttl). Anyone holding the link can download the
          image until it expires, so share it like a password.

          Prints the URL and its expiry; with --json an object with one URL per enabled protocol
          ("http", "sftp"), "sftp_commands" (ready resuming command lines for OpenSSH sftp, lftp and
          curl) and "expires_at" (RFC 3339). Works from the data directory without a running server;
          links point at the running server's address, or http.public_url when set.

        Common options: --data-dir DIR, --config FILE.
        """

    static func run(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        try ImageGateCLI.group(args, help: help, verbs: ["mint": mint])
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
        let settings = try loadSettings(args)
        let data = try DataDirectory.open(settings)
        defer { data.close() }
        let minter = LinkMinter(data: data, httpBase: LinkMinter.httpBase(settings))
        let link = try minter.mint(id, ttl: ttl, minter: "cli")
        if args.json {
            var o: [String: Any] = [
                "image_id": link.imageID.description, "file_name": link.fileName,
                "expires_at": TimeFormat.rfc3339(link.expiresAt), "issued_at": TimeFormat.rfc3339(link.issuedAt),
            ]
            for (proto, url) in link.urls { o[proto] = url }
            if !link.sftpCommands.isEmpty { o["sftp_commands"] = link.sftpCommands }
            Output.json(o)
        } else {
            for (_, url) in link.urls { print(url) }
            print("expires \(TimeFormat.rfc3339(link.expiresAt)) (in \(DurationText.format(link.expiresAt - link.issuedAt)))")
        }
        return ExitCode.success
    }
}
