//===----------------------------------------------------------------------===//
// ImageGate: `imagegate link`: mint (LinkMintCommand.swift), list, show, revoke.
//===----------------------------------------------------------------------===//
import GateCore
import ImageManagement

enum LinkCommands {
    static let help = """
        Usage: imagegate link mint IMAGE_ID [IMAGE_ID…] [--ttl DURATION] [--protocols LIST] [--allow-ip CIDR]…
                                   [--max-downloads N] [--label TEXT] [--json] [--output FILE.csv|FILE.json]
               imagegate link list [--image ID] [--state S] [--tenant ID] [--minted-by ACCOUNT] [--limit N]
                                   [--offset N] [--json]
               imagegate link show SERIAL [--json]
               imagegate link revoke SERIAL [SERIAL…]
               imagegate link revoke --image IMAGE_ID

          mint: a signed download link for each available image. The link is valid for 24h by default
          (--ttl 30m, 12h, 7d …; at most tokens.max_ttl). Anyone holding the link can download the image
          until it expires, so share it like a password. Options (Docs/links.md, "Mint options"):
            --protocols LIST     comma-separated subset of https,http,ftps,ftp,sftp (each on its own: http
                                 does not imply https); default: every protocol the server offers
            --allow-ip CIDR      only clients in this prefix (203.0.113.0/24, 2001:db8::/32, or one
                                 address); repeat for several
            --max-downloads N    the link may serve N × the image size × 1.1 + 16 MiB of bytes in all
                                 (resumed and segmented downloads fit), then it is exhausted; a transfer
                                 under way is not cut
            --label TEXT         free text shown in the inventory
            --output FILE        also write the results to FILE: .csv (columns image_id, image_name, serial,
                                 expires_at, https, http, ftps, ftp, sftp) or .json (the bulk answer)
          With one image: one labelled URL per protocol (HTTPS:, HTTP:, FTP:, SFTP:), the serial and the expiry;
          --json prints the link object: one URL per protocol ("https", "http", "ftp", "sftp"), "commands"
          (ready command lines that resume: https_wget, https_curl, https_aria2c, ftp_wget, ftp_curl,
          ftp_lftp, ftp_lftp_parallel), "sftp_commands", "serial", "expires_at" (RFC 3339), the link's
          record fields (state, label, protocols, allowed_ips, max_downloads, …), and with the self-signed
          certificate "ca_certificate" and "ca_sha256": each TLS command first fetches that certificate and
          checks its digest. With several images: one result per image (--json: {"results": [...]}); the exit
          status is 0 when every image got a link, 4 when any was refused. What the token may do follows the
          running server's policy; without a running server, this configuration's (a warning says so).

          list: the link inventory, newest first, every state by default (--state active, expired, revoked
          or exhausted), 100 per page (--limit, --offset). Shows serial, image, state, usage and expiry.
          show: one link with its options and usage.
          revoke: the links with those serials (printed by mint, and by list) stop working for new requests
          within a second; --image revokes every link of that image that still works.

        Common options: --data-dir DIR, --config FILE, --server URL (with IMAGEGATE_API_KEY).
        """

    static func run(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        try ImageGateCLI.group(
            args, help: help,
            verbs: [
                "mint": LinkMintCommand.run,
                "list": AdminCommands.wrap(list, help),
                "show": AdminCommands.wrap(show, help),
                "revoke": revoke,
            ])
    }

    static let list = APICommand(
        name: "list", usage: "link list",
        valueOptions: ["--image", "--state", "--tenant", "--minted-by", "--limit", "--offset"],
        request: { a throws(GateError) in
            try a.noMorePositionals(than: 0)
            var q: [String: String] = [:]
            for (opt, key) in [
                ("--image", "image"), ("--state", "state"), ("--tenant", "tenant"), ("--minted-by", "minted_by"),
                ("--limit", "limit"), ("--offset", "offset"),
            ] {
                if let v = a.value(opt) { q[key] = v }
            }
            return ("GET", "/api/v1/links", q, nil)
        },
        render: Render.table([
            ("SERIAL", "serial"), ("IMAGE", "image_id"), ("STATE", "state"), ("PROTOCOLS", "protocols"),
            ("SESSIONS", "sessions"), ("BYTES", "bytes_served"), ("MAX", "max_downloads"), ("LABEL", "label"),
            ("EXPIRES", "expires_at"),
        ]))

    static let show = APICommand(
        name: "show", usage: "link show SERIAL",
        request: { a throws(GateError) in
            try a.noMorePositionals(than: 1)
            return ("GET", "/api/v1/links/\(LocalAPI.encode(try a.positional(0, "link serial")))", [:], nil)
        },
        render: { json in
            let o = Render.object(json)
            let keys = [
                "serial", "image_id", "tenant", "state", "label", "protocols", "allowed_ips", "max_downloads",
                "byte_allowance", "sessions", "bytes_served", "completed_downloads", "last_client", "last_used_at",
                "minted_by", "minted_at", "expires_at", "revoked_at",
            ]
            let width = keys.map(\.count).max() ?? 0
            for k in keys { print(k + ":" + String(repeating: " ", count: width - k.count + 1) + Render.text(o[k])) }
        })

    /// `link revoke SERIAL…` (one request per serial; every one is tried) or `link revoke --image ID`.
    static func revoke(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard
            let args = try CommandPrelude.parse(
                raw, valueOptions: ["--image"], flagOptions: ["--json"], maxPositionals: nil,
                help: "Usage: imagegate link revoke SERIAL [SERIAL…] | --image IMAGE_ID\n\n" + help)
        else { return ExitCode.success }
        if let image = args.value("--image") {
            try args.noMorePositionals(than: 0)
            let id = try ImageCommands.parseImageID(image)
            let answer = try LinkAPI.call(args, "DELETE", "/api/v1/images/\(id)/links")
            try answer.check()
            if args.json { return printRaw(answer) }
            let serials = (Render.object(answer.json)["revoked"] as? [String]) ?? []
            print("revoked \(serials.count) link\(serials.count == 1 ? "" : "s") of \(id)")
            for s in serials { print(s) }
            return ExitCode.success
        }
        guard !args.positionals.isEmpty else { throw GateError.usage("missing link serial (or --image ID)") }
        var worst = ExitCode.success
        for serial in args.positionals {
            let answer = try LinkAPI.call(args, "DELETE", "/api/v1/links/\(LocalAPI.encode(serial))")
            do throws(GateError) {
                try answer.check()
                print("revoked link \(Render.text(Render.object(answer.json)["serial"]))")
            } catch {
                // One serial: its error is the command's. Several: each refusal is reported, the rest go on.
                if args.positionals.count == 1 { throw error }
                printError(error)
                worst = max(worst, ExitCode.of(error))
            }
        }
        return worst
    }

    private static func printRaw(_ answer: APIAnswer) -> Int32 {
        print(String(decoding: answer.raw, as: UTF8.self))
        return ExitCode.success
    }
}

/// One management API request from a CLI command: to `--server` when given, else to the local data directory.
enum LinkAPI {
    static func call(
        _ args: Arguments, _ method: String, _ path: String, query: [String: String] = [:], body: [String: Any]? = nil
    ) throws(GateError) -> APIAnswer {
        if let remote = try RemoteAPI.from(args) { return try remote.call(method, path, query: query, body: body) }
        return try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
            try data.localAPI.call(method, path, query: query, body: body)
        }
    }
}
