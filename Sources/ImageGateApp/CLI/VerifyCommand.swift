//===----------------------------------------------------------------------===//
// ImageGate: `imagegate image verify`: re-hash blobs against the catalog, fail the corrupt ones.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import ImageManagement
import ImportPipeline

enum VerifyCommand {
    static let help = """
        Usage: imagegate image verify (ID… | --all) [--rate BYTES] [--json]

          Reads each image's stored bytes and compares their size and SHA-256 with the catalog. An image whose
          bytes are missing, of another size or with another digest becomes failed with the reason (audited as
          image.verify.fail) and is no longer served. --all checks every available image, one at a time.
          Runs on the server host (it reads the blob store), with or without a running server.

          --rate BYTES   Read at most this many bytes per second, e.g. 200MiB (default: imports.verify_rate;
                         0: no limit).
          --json         One object: {"results": [{"id", "name", "result", "reason", …}], "checked", "corrupt"}.

          Progress goes to standard error. Exit status: 0 every image checked is intact; 5 at least one image's
          bytes are missing or corrupt (now failed); 1 a blob could not be read (nothing concluded about it);
          3 an ID names no image; 64 usage.

        Common options: --data-dir DIR, --config FILE.
        """

    static func run(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard
            let args = try CommandPrelude.parse(
                raw, valueOptions: ["--rate"], flagOptions: ["--all", "--json"], maxPositionals: nil, help: help)
        else { return ExitCode.success }
        guard args.value("--server") == nil else {
            throw GateError.usage("image verify reads the blob store: run it on the server host, without --server")
        }
        let all = args.flags.contains("--all")
        guard all != !args.positionals.isEmpty else { throw GateError.usage("give image IDs or --all (not both)") }
        let ids = try args.positionals.map { (text: String) throws(GateError) in try ImageCommands.parseImageID(text) }
        let settings = try loadSettings(args)
        let rate =
            try args.value("--rate").map { (v: String) throws(GateError) in try SettingKey.bytes(v, "--rate") }
            ?? settings.imports.verifyRate
        let data = try DataDirectory.open(settings)
        defer { data.close() }

        var images: [ImageRecord] = []
        if all {
            images = try data.service.verifiableImages()
        } else {
            for id in ids {
                guard let r = try data.store.image(id) else { throw GateError.notFound("no image \(id)") }
                images.append(r)
            }
        }
        let verifier = BlobVerifier(blobs: data.blobs, bytesPerSecond: rate)
        var results: [[String: Any]] = []
        var corrupt = 0
        var unreadable = 0
        for (n, image) in images.enumerated() {
            var entry: [String: Any] = ["id": image.id.description, "name": image.name, "size": image.size]
            guard image.status == .available else {
                // Only available images have bytes the catalog vouches for; the rest have nothing to check.
                entry["result"] = "skipped"
                entry["reason"] = "the image is \(image.status.rawValue)"
                results.append(entry)
                if !args.json { print("\(image.id)  skipped: the image is \(image.status.rawValue)") }
                continue
            }
            FileOut.stderr("verifying \(n + 1)/\(images.count) \(image.id) (\(Output.humanSize(image.size)))\n")
            let progress = ProgressPrinter()
            let result = try data.service.verifyImage(image, verifier: verifier, source: "cli") { done in
                progress.update(done, total: image.size)
            }
            progress.done()
            entry["result"] = result.label
            if result != .intact { entry["reason"] = result.reason(expected: image) }
            switch result {
            case .wrongDigest(let actual): entry["actual_sha256"] = actual
            case .wrongSize(let actual): entry["actual_size"] = actual
            default: break
            }
            if result.isCorrupt { corrupt += 1 }
            if case .unreadable = result { unreadable += 1 }
            results.append(entry)
            if !args.json {
                print(
                    result == .intact
                        ? "\(image.id)  intact  \(image.name)"
                        : "\(image.id)  \(result.label.uppercased())  \(image.name): \(result.reason(expected: image))"
                            + (result.isCorrupt ? " (now failed)" : ""))
            }
        }
        if args.json {
            Output.json(["results": results, "checked": results.count, "corrupt": corrupt, "unreadable": unreadable])
        } else {
            print("\(results.count) checked, \(corrupt) corrupt or missing, \(unreadable) unreadable")
        }
        if corrupt > 0 { return ExitCode.corrupt }
        return unreadable > 0 ? ExitCode.failure : ExitCode.success
    }
}
