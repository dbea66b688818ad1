//===----------------------------------------------------------------------===//
// ImageGate: `imagegate image import|list|show`.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GateCore
import ImageCatalog
import ImageManagement
import SystemIO

enum ImageCommands {
    static let help = """
        Usage: imagegate image <subcommand> [options]

          import (--file PATH | --url URL) --name NAME [metadata] [--json]
                Import an image (see 'imagegate image import --help'): checked while it streams in,
                'available' only once its bytes are safely on disk.
          cancel ID                    Cancel an import in progress (the image becomes failed: cancelled).
          watch ID [--timeout D]       Follow an import's progress until it ends; gives up after D (default 10m)
                                       without progress, 0 = never.
          list [--status S[,S]] [--kind self_made|iso] [--system-type T] [--architecture A] [--tag T]
               [--search TEXT] [--tenant ten-…] [--sort name|created_at|updated_at|size|status]
               [--order asc|desc] [--offset N] [--limit N] [--json]
                List images (the recycle bin is separate).
          show ID                      One image with every field.
          rename ID NAME               Change the name (any status).
          remarks ID TEXT              Change the remarks (any status).
          tag ID [TAG…]                Replace the tags (no TAG: remove all).
          delete ID [ID…]              Move to the recycle bin (available or failed images not used by VMs).
          recycle-bin [list options]   List deleted images.
          restore ID                   Bring an image back from the recycle bin.
          destroy ID                   Remove a deleted image and its bytes for good.
          verify (ID… | --all) [--rate BYTES] [--json]
                                       Re-hash stored bytes against the catalog; corrupt images become
                                       failed (see 'imagegate image verify --help'; exit 5 if any).
          os-matrix                    The operating systems imports may declare (imports.os_matrix).
          vms ID | attach-vm ID VM | detach-vm ID VM
                                       The VMs created from an image (they block deletion).
          export --output FILE [--format xlsx|csv] [list options]
                                       The image list as an Excel workbook or CSV.

        Common options: --data-dir DIR, --config FILE, --json. These work with or without a running server.
        Remote: --server URL (or IMAGEGATE_SERVER) with the API key in IMAGEGATE_API_KEY, and --cacert FILE
        to trust a server's own certificate; 'image import --file' then uploads resumably (tus).
        """

    static func run(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        var verbs: [String: (ArraySlice<String>) throws(GateError) -> Int32] = [
            "import": importImage, "export": export, "watch": watch,
            "delete": AdminCommands.wrap(deleteCommand, help), "verify": VerifyCommand.run,
        ]
        for c in commands { verbs[c.name] = AdminCommands.wrap(c, help) }
        return try ImageGateCLI.group(args, help: help, verbs: verbs)
    }

    static func id(_ a: Arguments, _ n: Int = 0) throws(GateError) -> String {
        try parseImageID(try a.positional(n, "image ID")).description
    }

    static let commands: [APICommand] = [
        APICommand(
            name: "list", usage: "image list [options]", valueOptions: listOptions,
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 0)
                return ("GET", "/api/v1/images", listQuery(a), nil)
            }, render: Render.imageTable),
        APICommand(
            name: "recycle-bin", usage: "image recycle-bin [options]", valueOptions: listOptions,
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 0)
                return ("GET", "/api/v1/recycle-bin", listQuery(a), nil)
            }, render: Render.imageTable),
        APICommand(
            name: "show", usage: "image show ID",
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 1)
                return ("GET", "/api/v1/images/\(try id(a))", [:], nil)
            }, render: { Render.keyValues($0) }),
        APICommand(
            name: "rename", usage: "image rename ID NAME",
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 2)
                return ("PATCH", "/api/v1/images/\(try id(a))", [:], ["name": try a.positional(1, "new name")])
            }, render: { print("renamed to \(Render.text(Render.object($0)["name"]))") }),
        APICommand(
            name: "remarks", usage: "image remarks ID TEXT",
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 2)
                return ("PATCH", "/api/v1/images/\(try id(a))", [:], ["remarks": try a.positional(1, "remarks text")])
            }, render: { print("remarks: \(Render.text(Render.object($0)["remarks"]))") }),
        APICommand(
            name: "tag", usage: "image tag ID [TAG…]",
            request: { a throws(GateError) in
                let tags = Array(a.positionals.dropFirst())
                return ("PATCH", "/api/v1/images/\(try id(a))", [:], ["tags": tags])
            }, render: { print("tags: \(Render.text(Render.object($0)["tags"]))") }),
        APICommand(
            name: "restore", usage: "image restore ID",
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 1)
                return ("POST", "/api/v1/images/\(try id(a))/restore", [:], nil)
            }, render: { print("restored; status \(Render.text(Render.object($0)["status"]))") }),
        APICommand(
            name: "destroy", usage: "image destroy ID",
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 1)
                return ("POST", "/api/v1/images/\(try id(a))/destroy", [:], nil)
            }, render: { print("destroyed \(Render.text(Render.object($0)["id"]))") }),
        APICommand(
            name: "cancel", usage: "image cancel ID",
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 1)
                return ("POST", "/api/v1/images/\(try id(a))/cancel", [:], nil)
            }, render: { print("cancelled; status \(Render.text(Render.object($0)["status"]))") }),
        APICommand(
            name: "os-matrix", usage: "image os-matrix",
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 0)
                return ("GET", "/api/v1/os-matrix", [:], nil)
            },
            render: { json in
                for e in Render.object(json)["entries"] as? [[String: Any]] ?? [] {
                    print(
                        "\(Render.text(e["system_type"]))  \(Render.text(e["platform"]))  \(Render.text(e["architecture"])): "
                            + Render.text(e["versions"]))
                }
            }),
        APICommand(
            name: "vms", usage: "image vms ID",
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 1)
                return ("GET", "/api/v1/images/\(try id(a))/vms", [:], nil)
            }, render: Render.table([("VM", "vm_id"), ("SINCE", "created_at")])),
        APICommand(
            name: "attach-vm", usage: "image attach-vm ID VM_ID",
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 2)
                return ("POST", "/api/v1/images/\(try id(a))/vms", [:], ["vm_id": try a.positional(1, "VM id")])
            }, render: { print("VM \(Render.text(Render.object($0)["vm_id"])) recorded") }),
        APICommand(
            name: "detach-vm", usage: "image detach-vm ID VM_ID",
            request: { a throws(GateError) in
                try a.noMorePositionals(than: 2)
                let vm = try a.positional(1, "VM id")
                return ("DELETE", "/api/v1/images/\(try id(a))/vms/\(LocalAPI.encode(vm))", [:], nil)
            }, render: { _ in print("VM reference released") }),
    ]

    /// `image delete` takes one id (DELETE) or many (batch, one answer per id).
    static let deleteCommand = APICommand(
        name: "delete", usage: "image delete ID [ID…]",
        request: { a throws(GateError) in
            guard !a.positionals.isEmpty else { throw GateError.usage("missing image ID") }
            if a.positionals.count == 1 { return ("DELETE", "/api/v1/images/\(try id(a))", [:], nil) }
            return ("POST", "/api/v1/images/batch-delete", [:], ["ids": a.positionals])
        },
        render: { json in
            let o = Render.object(json)
            guard let results = o["results"] as? [[String: Any]] else {
                print("moved to the recycle bin: \(Render.text(o["id"]))")
                return
            }
            for r in results {
                let ok = (r["ok"] as? Bool) ?? false
                let why = ((r["error"] as? [String: Any])?["message"] as? String) ?? ""
                print("\(Render.text(r["id"]))  \(ok ? "deleted" : "refused: " + why)")
            }
        },
        exitCode: { json in
            // A batch is one 200 answer; the exit code reports its first refusal so scripts can tell (3 not found,
            // 4 refused, as for a single delete).
            let results = Render.object(json)["results"] as? [[String: Any]] ?? []
            for r in results where (r["ok"] as? Bool) != true {
                let code = ((r["error"] as? [String: Any])?["code"] as? String).flatMap(GateError.Code.init(rawValue:))
                return ExitCode.of(GateError(code ?? .internal, ""))
            }
            return ExitCode.success
        })

    static func watch(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard
            let args = try CommandPrelude.parse(
                raw, valueOptions: ["--timeout"], flagOptions: ["--json"], maxPositionals: 1, help: help)
        else { return ExitCode.success }
        let imageID = try parseImageID(try args.positional(0, "image ID"))
        var timeout = ImportWatch.defaultTimeout
        if let t = args.value("--timeout") {
            guard let d = t == "0" ? 0 : DurationText.parse(t), d >= 0 else {
                throw GateError.usage("--timeout: expected a duration like 30s, 10m or 1h (0: wait for ever)")
            }
            timeout = d
        }
        let r = try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
            try ImportWatch(data: data, id: imageID, quiet: args.json, stallTimeout: timeout).run()
        }
        if args.json { Output.json(APIJSON.image(r)) } else { print("\(r.id) is \(r.status.rawValue)") }
        return r.status == .failed ? ExitCode.refused : ExitCode.success
    }

    static func export(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard
            let args = try CommandPrelude.parse(
                raw, valueOptions: listOptions.union(["--output", "--format"]), maxPositionals: 0, help: help)
        else { return ExitCode.success }
        let format = args.value("--format") ?? "xlsx"
        guard format == "xlsx" || format == "csv" else { throw GateError.usage("--format must be xlsx or csv") }
        let output = try args.required("--output")
        let answer: APIAnswer
        if let remote = try RemoteAPI.from(args) {
            answer = try remote.call("GET", "/api/v1/export.\(format)", query: listQuery(args))
        } else {
            answer = try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
                try data.localAPI.call("GET", "/api/v1/export.\(format)", query: listQuery(args))
            }
        }
        try answer.check()
        try writeExport(answer.raw, to: output)
        print("wrote \(output) (\(answer.raw.count) bytes)")
        return ExitCode.success
    }

    /// Atomically (a crash never leaves half a spreadsheet under the final name), with the mode a new file
    /// always had (0666 less the umask): the export lists image metadata, no links or tokens.
    static func writeExport(_ bytes: [UInt8], to output: String) throws(GateError) {
        do {
            try AtomicFile.write(bytes, to: output, mode: 0o666)
        } catch {
            throw GateError.io("cannot write \(output)")
        }
    }

    static let importOptions: Set<String> = [
        "--file", "--url", "--name", "--description", "--kind", "--format", "--system-type", "--platform",
        "--os-version", "--architecture", "--boot-mode", "--features", "--tags", "--sha256", "--tenant",
    ]

    /// The import request from the command line. The file's own bytes decide kind and format when not given.
    static func importRequest(_ args: Arguments, source: ImportRequest.Source, head: [UInt8]) throws(GateError)
        -> ImportRequest
    {
        var r = ImportRequest(name: try args.required("--name"), source: source)
        r.remarks = args.value("--description") ?? ""
        let sniffed = ImageFormat.sniff(head)
        if let k = args.value("--kind") {
            guard let kind = ImageKind(rawValue: k) else { throw GateError.usage("--kind must be self_made or iso") }
            r.kind = kind
        } else {
            r.kind = sniffed == .iso ? .iso : .selfMade
        }
        if let f = args.value("--format") {
            guard let format = ImageFormat(rawValue: f) else {
                throw GateError.usage("--format must be qcow2, raw or iso")
            }
            r.format = format
        } else if case .url = source {
            // A URL's bytes are not at hand yet: the import sniffs its first 64 KiB as they arrive, by the same
            // rule as a local file's (ImportSink); `format` is a placeholder until then.
            r.format = r.kind == .iso ? .iso : .raw
            if r.kind != .iso { r.detectFormat = args.value("--kind") == nil ? .any : .selfMade }
        } else {
            r.format = r.kind == .iso ? .iso : (sniffed == .iso ? .raw : sniffed)
        }
        r.systemType = args.value("--system-type") ?? ""
        r.platform = args.value("--platform") ?? ""
        r.osVersion = args.value("--os-version") ?? ""
        r.architecture = args.value("--architecture") ?? ""
        r.bootMode = args.value("--boot-mode") ?? ""
        r.features = (args.value("--features") ?? "").split(separator: ",").map(String.init)
        r.tags = (args.value("--tags") ?? "").split(separator: ",").map(String.init)
        r.expectedSHA256 = args.value("--sha256")
        r.encrypted = args.flags.contains("--encrypted")
        if let t = args.value("--tenant") {
            guard let tenant = TenantID(t) else { throw GateError.usage("--tenant must be a tenant id (ten-…)") }
            r.tenant = tenant
        }
        // The same rule as the API and the console: the operating system is part of every import.
        if [r.systemType, r.platform, r.architecture, r.osVersion, r.bootMode].allSatisfy(\.isEmpty) {
            throw GateError.usage(
                "the operating system is required: --system-type, --platform, --os-version, --architecture and "
                    + "--boot-mode (the choices: 'imagegate image os-matrix')")
        }
        return r
    }

    static func importImage(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard
            let args = try CommandPrelude.parse(
                raw, valueOptions: importOptions, flagOptions: ["--json", "--no-wait", "--encrypted"],
                maxPositionals: 0,
                help: importHelp)
        else { return ExitCode.success }
        let file = args.value("--file")
        let url = args.value("--url")
        guard (file == nil) != (url == nil) else {
            throw GateError.usage("give exactly one of --file PATH or --url URL")
        }
        _ = try args.required("--name")
        if let remote = try RemoteAPI.from(args) {
            guard let file else {
                throw GateError.usage("--url imports on a remote server go through the API (POST /api/v1/imports)")
            }
            let request = try importRequest(args, source: .upload(size: 1), head: headOf(file))
            let final = try RemoteImport.run(remote, request, path: file, quiet: args.json)
            if args.json {
                Output.json(final)
            } else {
                print(
                    "import \(Render.text(final["id"])) is \(Render.text(final["status"]))"
                        + ((final["failure_reason"] as? String).map { ": " + $0 } ?? ""))
            }
            return (final["status"] as? String) == "available" ? ExitCode.success : ExitCode.refused
        }
        let record = try CommandPrelude.withDataDirectory(args) { data throws(GateError) -> ImageRecord in
            try importLocally(data, args, file: file, url: url)
        }
        if args.json {
            Output.json(APIJSON.image(record))
        } else if record.status == .available {
            print("imported \(record.id)  \(record.name)  \(Output.humanSize(record.size))  sha256 \(record.sha256)")
        } else {
            print("import \(record.id) is \(record.status.rawValue)")
        }
        return record.status == .failed ? ExitCode.refused : ExitCode.success
    }

    /// A local import: a file copied in by this process, or a URL fetched by this process while it waits, or,
    /// with --no-wait, left for the running server to fetch (this process exits at once).
    static func importLocally(_ data: DataDirectory, _ args: Arguments, file: String?, url: String?)
        throws(GateError) -> ImageRecord
    {
        let record: ImageRecord
        if let file {
            let request = try importRequest(args, source: .upload(size: 1), head: headOf(file))
            let progress = args.json ? nil : ProgressPrinter()
            record = try data.imports.importLocalFile(.localAdmin, request, path: file) { done, total in
                progress?.update(done, total: total)
            }
            progress?.done()
        } else {
            let request = try importRequest(args, source: .url(url!), head: [])
            let noWait = args.flags.contains("--no-wait")
            // With a shared catalog the import is recorded for a server node to fetch: the CLI never fetches in
            // a cluster (its host may not be one the nodes' policy or the source expect, and a fetch is a
            // node's work, resumed by another node if that one stops).
            let clustered = data.isClustered
            let (created, _) = try data.imports.create(
                .localAdmin, request, source: "cli", fetchHere: !noWait && !clustered)
            if noWait {
                record = created
                if clustered {
                    printError(
                        "a server node of the catalog fetches \(created.id); follow it with "
                            + "'imagegate image watch \(created.id)'")
                } else if let server = RunFile.read(data.settings.runFile) {
                    printError(
                        "the running server (pid \(server.pid)) fetches \(created.id); follow it with "
                            + "'imagegate image watch \(created.id)'")
                } else {
                    printError(
                        "no server is running on \(data.settings.dataDir): \(created.id) is fetched when "
                            + "'imagegate serve' starts")
                }
            } else if clustered {
                // Waits for whichever node claims it, saying which one moves the bytes.
                record = try ImportWatch(data: data, id: created.id, quiet: args.json, stallTimeout: 0).run()
            } else {
                record = try watchImport(data, created.id, quiet: args.json)
            }
        }
        return record
    }

    /// Follows an import this process runs until it ends (no stall limit: the transfer has its own timeouts).
    static func watchImport(_ data: DataDirectory, _ id: ImageID, quiet: Bool) throws(GateError) -> ImageRecord {
        try ImportWatch(data: data, id: id, quiet: quiet, stallTimeout: 0, announce: false).run()
    }

    static func headOf(_ path: String) -> [UInt8] {
        // O_NONBLOCK: a FIFO must not hang the command waiting for a writer (the import refuses it).
        guard let fd = try? FileIO.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) else { return [] }
        defer { Sys.close(fd) }
        var buf = [UInt8](repeating: 0, count: ImageFormat.sniffLength)
        let n = buf.withUnsafeMutableBytes { (try? FileIO.read(fd, into: $0)) ?? 0 }
        return Array(buf[0..<n])
    }

    static let importHelp = """
        Usage: imagegate image import (--file PATH | --url URL) --name NAME [options] [--json]

          Import an image. Every byte passes the checks on its way in (SHA-256, size caps, format inspection:
          qcow2 header rules, ISO 9660, refusal of VMDK/VHD/VHDX/OVA/archives); the image becomes available
          only when its bytes are safely on disk, and is failed with the reason otherwise.

          --file PATH          A local file (on the server host).
          --url URL            http, https or ftp (ftp://user:password@host:port/path), fetched by this process
                               while it waits and shows progress; with --no-wait the running server fetches
                               it (follow it with 'image watch ID'). With a shared catalog (--catalog,
                               catalog.url) a server node always fetches it; the command waits and shows
                               progress unless --no-wait.
          --name NAME          Image name.          --description TEXT   Remarks.
          --kind self_made|iso --format qcow2|raw|iso (default: what the bytes are; for --url, the first 64 KiB)
          --system-type Linux|Windows --platform CentOS|Ubuntu|Windows Server|Windows --os-version V
          --architecture x86_64|aarch64 --boot-mode BIOS|UEFI   (required, as on the API and the console;
                               checked against 'imagegate image os-matrix')
          --features cloud-init,qemu-ga --tags a,b --sha256 HEX (expected digest) --tenant ten-…
          --encrypted          The image is a LUKS-encrypted qcow2 (refused unless declared; the key stays
                               the owner's: VMs made from it cannot change it).

        Common options: --data-dir DIR, --config FILE.
        """

    static func parseImageID(_ text: String) throws(GateError) -> ImageID {
        guard let id = ImageID(text) else {
            throw GateError.usage("\(JSONText.quote(text)) is not an image id (img- followed by 32 hex digits)")
        }
        return id
    }
}

/// A one-line progress display on standard error, redrawn at most ten times a second.
final class ProgressPrinter {
    private var lastDraw: Int64 = 0
    private let started = Monotonic.milliseconds()
    private let interactive = isatty(2) != 0

    func update(_ bytes: UInt64, total: UInt64?) {
        let now = Monotonic.milliseconds()
        guard now - lastDraw >= 100 else { return }
        lastDraw = now
        var line = "\r" + Output.humanSize(bytes)
        if let total, total > 0 { line += " / \(Output.humanSize(total)) (\(bytes * 100 / total)%)" }
        let secs = Double(now - started) / 1000
        if secs > 0 { line += "  \(Output.humanSize(UInt64(Double(bytes) / secs)))/s" }
        if interactive { FileOut.stderr(line + "   ") }
    }

    func done() {
        if interactive { FileOut.stderr("\r\u{1B}[K") }
    }
}

#if canImport(Glibc)
import Glibc
import ImportPipeline
#endif

enum FileOut {
    static func stderr(_ s: String) {
        _ = try? FileIO.writeAll(2, Array(s.utf8))
    }
}
