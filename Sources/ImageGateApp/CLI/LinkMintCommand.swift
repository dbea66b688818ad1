//===----------------------------------------------------------------------===//
// ImageGate: `imagegate link mint ID [ID…]`: options, one result per image, --output FILE.csv|FILE.json.
//===----------------------------------------------------------------------===//
import DownloadTokens
import Foundation
import GateCore
import ImageManagement
import SystemIO

enum LinkMintCommand {
    static func run(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard
            let args = try CommandPrelude.parse(
                raw, valueOptions: ["--ttl", "--protocols", "--allow-ip", "--max-downloads", "--label", "--output"],
                flagOptions: ["--json"], maxPositionals: nil, help: LinkCommands.help)
        else { return ExitCode.success }
        guard !args.positionals.isEmpty else { throw GateError.usage("missing image ID") }
        let options = try self.options(args)
        let output = args.value("--output")
        if let output, !(output.hasSuffix(".csv") || output.hasSuffix(".json")) {
            throw GateError.usage("--output: the file name must end in .csv or .json")
        }
        let results: [[String: Any]]
        if let remote = try RemoteAPI.from(args) {
            let answer = try remote.call("POST", "/api/v1/links", body: body(args.positionals, options))
            try answer.check()
            results = Render.object(answer.json)["results"] as? [[String: Any]] ?? []
        } else {
            results = try mintLocally(args, options)
        }
        if let output { try write(results, to: output) }
        let refused = results.contains { $0["error"] != nil }
        if args.positionals.count == 1, let only = results.first {
            if let link = only["link"] as? [String: Any] {
                if args.json { Output.json(link) } else { printLink(link) }
            } else if let e = only["error"] as? [String: Any] {
                // One image: its refusal is the command's error, with the exit status of its code.
                let code = GateError.Code(rawValue: Render.text(e["code"])) ?? .internal
                throw GateError(code, Render.text(e["message"]))
            }
            return ExitCode.success
        }
        if args.json {
            Output.json(["results": results])
        } else {
            for r in results {
                print("image \(Render.text(r["image_id"])):")
                if let link = r["link"] as? [String: Any] {
                    printLink(link, indent: "  ")
                } else {
                    print("  refused: \(Render.text((r["error"] as? [String: Any])?["message"]))")
                }
            }
        }
        return refused ? ExitCode.refused : ExitCode.success
    }

    static func options(_ args: Arguments) throws(GateError) -> MintOptions {
        var o = MintOptions()
        if let t = args.value("--ttl") {
            guard let d = DurationText.parse(t), d > 0 else {
                throw GateError.usage("--ttl: expected a duration like 30m, 24h or 7d")
            }
            o.ttl = d
        }
        if let p = args.value("--protocols") {
            o.protocols = try MintOptions.protocols(
                p.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
        }
        o.allowedIPs = try MintOptions.allowedIPs(args.allValues("--allow-ip"))
        if let m = args.value("--max-downloads") {
            guard let n = Int64(m) else { throw GateError.usage("--max-downloads: expected a whole number") }
            o.maxDownloads = try MintOptions.maxDownloads(n)
        }
        if let l = args.value("--label") { o.label = try MintOptions.label(l) }
        return o
    }

    static func body(_ ids: [String], _ o: MintOptions) -> [String: Any] {
        var b: [String: Any] = ["image_ids": ids]
        if let ttl = o.ttl { b["ttl"] = "\(ttl)s" }
        if let p = o.protocols { b["protocols"] = p }
        if !o.allowedIPs.isEmpty { b["allowed_ips"] = o.allowedIPs.map(\.description) }
        if let m = o.maxDownloads { b["max_downloads"] = m }
        if !o.label.isEmpty { b["label"] = o.label }
        return b
    }

    /// Mints in this process (as the local administrator), one result per id in the shape of the bulk API.
    private static func mintLocally(_ args: Arguments, _ options: MintOptions) throws(GateError) -> [[String: Any]] {
        let (results, warning, fromServer) = try CommandPrelude.withDataDirectory(args) {
            data throws(GateError) -> ([[String: Any]], String?, Bool) in
            let minter = LinkMinter(data: data)
            var out: [[String: Any]] = []
            var fromServer = true
            for text in args.positionals {
                do throws(GateError) {
                    let id = try ImageCommands.parseImageID(text)
                    let link = try minter.mint(.localAdmin, id, options: options, source: "cli", service: data.service)
                    fromServer = link.policyFromServer
                    out.append(["image_id": text, "link": APIJSON.link(link)])
                } catch {
                    out.append(["image_id": text, "error": ["code": error.code.rawValue, "message": error.message]])
                }
            }
            return (out, configuredAddressWarning(data.settings), fromServer)
        }
        // The warnings are about links that were made; a refusal of every image speaks for itself.
        if !results.contains(where: { $0["link"] != nil }) { return results }
        if let warning {
            printError(warning)
        } else if !fromServer {
            printError(
                "no server is running: the link follows this configuration's link policy "
                    + "(http.plain_links, ftp.*); mint while the server runs, or with its --config")
        }
        return results
    }

    /// `--output`: the bulk answer as JSON, or one CSV row per minted link (refused images are left out;
    /// the command's output and exit status report them).
    static func write(_ results: [[String: Any]], to path: String) throws(GateError) {
        var text: String
        if path.hasSuffix(".json") {
            guard
                let data = try? JSONSerialization.data(
                    withJSONObject: ["results": results], options: [.sortedKeys, .prettyPrinted])
            else { throw GateError.internal("cannot encode the results") }
            text = String(decoding: data, as: UTF8.self) + "\n"
        } else {
            let columns = ["image_id", "image_name", "serial", "expires_at", "https", "http", "ftps", "ftp", "sftp"]
            text = columns.joined(separator: ",") + "\n"
            for r in results {
                guard let l = r["link"] as? [String: Any] else { continue }
                let granted = l["protocols"] as? [String] ?? []
                // One ftp:// address serves FTPS and plain FTP: it goes in each column the link grants.
                let cells: [String] = [
                    Render.text(l["image_id"]), l["image_name"] as? String ?? "", Render.text(l["serial"]),
                    Render.text(l["expires_at"]), l["https"] as? String ?? "", l["http"] as? String ?? "",
                    granted.contains("ftps") ? l["ftp"] as? String ?? "" : "",
                    granted.contains("ftp") ? l["ftp"] as? String ?? "" : "", l["sftp"] as? String ?? "",
                ]
                text += cells.map(csvField).joined(separator: ",") + "\n"
            }
        }
        // The file holds working download links (bearer tokens): 0600 exactly, whatever the umask, and written
        // atomically so a crash never leaves half a list under the final name.
        do {
            try AtomicFile.write(Array(text.utf8), to: path, mode: 0o600, enforceMode: true)
        } catch {
            throw GateError.io("cannot write \(path)")
        }
    }

    /// RFC 4180: quoted when it holds a comma, quote or line break; a leading =, +, - or @ is prefixed with
    /// ' so a spreadsheet does not run it as a formula.
    static func csvField(_ s: String) -> String {
        var v = s
        if let first = v.first, "=+-@".contains(first) { v = "'" + v }
        guard v.contains(where: { ",\"\n\r".contains($0) }) else { return v }
        return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Without a running server (no live run file) the link's addresses come from the configuration, whose
    /// ports may not be the ones a server will listen on (port 0, --http flags): say so on standard error.
    static func configuredAddressWarning(_ settings: Settings) -> String? {
        guard RunFile.read(settings.runFile) == nil else { return nil }
        var configured: [String] = []
        if settings.httpsPublicURL.isEmpty { configured.append("https \(settings.httpsListen)") }
        if settings.plainLinksEnabled && settings.httpPublicURL.isEmpty {
            configured.append("http \(settings.httpListen)")
        }
        if let ftp = settings.ftp.listen { configured.append("ftp \(ftp)") }
        configured.append("sftp \(settings.sftpListen)")
        return "warning: no server is running (no \(absolutePath(settings.runFile))): the link's addresses come from "
            + "the configuration (\(configured.joined(separator: ", "))) and may not be where a server listens; "
            + "start the server first, or set http.public_url / https.public_url; what the link may do follows this "
            + "configuration's link policy (http.plain_links, ftp.*)"
    }

    /// The human form of a minted link, the same for a local and a remote mint: one labelled line per
    /// protocol, the serial (for `link revoke`), the expiry, and where to get the certificate to trust.
    static func printLink(_ o: [String: Any], indent: String = "") {
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
        for r in rows { print(indent + r[0] + String(repeating: " ", count: width - r[0].count + 1) + r[1]) }
    }
}
