//===----------------------------------------------------------------------===//
// ImageGate: `imagegate image import|list|show`.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

enum ImageCommands {
    static let help = """
        Usage: imagegate image <subcommand> [options]

          import --file PATH --name NAME [--json]
                Copy a local image file into the catalog. The file is hashed (SHA-256) while it is copied
                and becomes 'available' only once its bytes are safely on disk.
          list [--json]
                List the images in the catalog.
          show ID [--json]
                Show one image (ID is the resource id, img-…).

        Common options: --data-dir DIR, --config FILE. These work with or without a running server.
        """

    static func run(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        try ImageGateCLI.group(args, help: help, verbs: ["import": importImage, "list": list, "show": show])
    }

    static func importImage(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        let args = try Arguments(raw, valueOptions: ["--file", "--name"], flagOptions: ["--json"])
        if args.wantsHelp {
            print(help)
            return ExitCode.success
        }
        try args.noMorePositionals(than: 0)
        let path = try args.required("--file")
        let name = try args.required("--name")
        let data = try DataDirectory.open(try loadSettings(args))
        defer { data.close() }
        let importer = LocalImporter(store: data.store, blobs: data.blobs, clock: data.clock)
        let progress = args.json ? nil : ProgressPrinter()
        let record = try importer.importFile(path: path, name: name, tenant: .defaultTenant) { p in
            progress?.update(p.bytes, total: p.total)
        }
        progress?.done()
        if args.json {
            Output.json(Output.imageJSON(record))
        } else {
            print("imported \(record.id)  \(record.name)  \(Output.humanSize(record.size))  sha256 \(record.sha256)")
        }
        return ExitCode.success
    }

    static func list(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        let args = try Arguments(raw, valueOptions: [], flagOptions: ["--json"])
        if args.wantsHelp {
            print(help)
            return ExitCode.success
        }
        try args.noMorePositionals(than: 0)
        let data = try DataDirectory.open(try loadSettings(args))
        defer { data.close() }
        let images = try data.store.images(tenant: nil)
        if args.json {
            Output.json(images.map(Output.imageJSON))
        } else {
            Output.table(
                ["ID", "NAME", "STATUS", "FORMAT", "SIZE", "CREATED"],
                images.map {
                    [$0.id.description, $0.name, $0.status.rawValue, $0.format.rawValue, Output.humanSize($0.size),
                     TimeFormat.rfc3339($0.createdAt)]
                })
        }
        return ExitCode.success
    }

    static func show(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        let args = try Arguments(raw, valueOptions: [], flagOptions: ["--json"])
        if args.wantsHelp {
            print(help)
            return ExitCode.success
        }
        try args.noMorePositionals(than: 1)
        let id = try parseImageID(try args.positional(0, "image ID"))
        let data = try DataDirectory.open(try loadSettings(args))
        defer { data.close() }
        guard let r = try data.store.image(id) else { throw GateError.notFound("no image \(id)") }
        if args.json {
            Output.json(Output.imageJSON(r))
        } else {
            let rows: [(String, String)] = [
                ("id", r.id.description), ("name", r.name), ("status", r.status.rawValue),
                ("failure reason", r.failureReason ?? "-"), ("format", r.format.rawValue),
                ("file name", r.fileName), ("size", "\(r.size) (\(Output.humanSize(r.size)))"),
                ("sha256", r.sha256.isEmpty ? "-" : r.sha256), ("generation", "\(r.generation)"),
                ("tenant", r.tenant.description), ("created", TimeFormat.rfc3339(r.createdAt)),
                ("updated", TimeFormat.rfc3339(r.updatedAt)),
            ]
            for (k, v) in rows { print(k + ":" + String(repeating: " ", count: 16 - k.count) + v) }
        }
        return ExitCode.success
    }

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
#endif

enum FileOut {
    static func stderr(_ s: String) {
        var b = Array(s.utf8)
        _ = b.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
