//===----------------------------------------------------------------------===//
// ImageGate: the `imagegate` command tree and its help texts.
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO

public enum ImageGateCLI {
    public static let version = BuildInfo.version

    static let overview = """
        imagegate \(version): an image download gateway for a private cloud.

        Usage: imagegate <command> [options]

        Commands:
          serve                 Run the server: HTTP, HTTPS, FTP/FTPS and SFTP downloads, the management API
                                (/api/v1), resumable uploads (/uploads) and the web console (/console/).
          image import          Import an image from a file or a URL, checked while it streams in;
                                image watch ID, image cancel ID, image os-matrix.
          image list            List images (filters, sorting, paging); also rename, remarks, tag, delete,
                                recycle-bin, restore, destroy, vms, attach-vm, detach-vm, export.
          image show ID         Show one image.
          link mint ID…         Mint signed download links (default lifetime 24h; protocols, allowed addresses,
                                max downloads, label); link list, link show SERIAL, link revoke SERIAL|--image ID.
          tenant, account       Tenants and their sub-accounts (view or manage).
          apikey                API keys for the management API (/api/v1): create, list, revoke, rotate.
          audit list|verify     The audit log of changes and minted links.
          webhook               Signed event notifications to HTTPS endpoints: add, list, remove, deliveries.
          key list              List token signing keys (never their secrets).
          key rotate            Start signing with a new key; old links keep working until they expire.
          key host              The SFTP server's host key fingerprints.

        Options every command takes:
          --data-dir DIR        Data directory (default ./data, or data_dir in the config file).
          --catalog URL         The catalog (catalog.url): postgres://USER@HOST:PORT/DB for a shared one.
          --config FILE         Config file (see Config/imagegate.conf.example).
          --server URL          A remote server instead of the data directory (API key in IMAGEGATE_API_KEY;
                                --cacert FILE to trust its certificate).
          -h, --help            Help for a command: imagegate <command> --help

        Exit codes: 0 success, 1 failure, 3 not found, 4 refused (wrong state or policy), 64 usage error.
        """

    /// Runs one command line (without the program name) and returns the exit code.
    public static func run(_ args: [String]) -> Int32 {
        StandardOutput.lineBuffered()
        guard let first = args.first else {
            print(overview)
            return ExitCode.usage
        }
        let rest = args.dropFirst()
        do throws(GateError) {
            switch first {
            case "-h", "--help", "help":
                print(overview)
                return ExitCode.success
            case "--version", "version":
                print("imagegate \(version) (\(BuildInfo.commit))")
                return ExitCode.success
            case "serve":
                return try ServeCommand.run(rest)
            case "image":
                return try ImageCommands.run(rest)
            case "link":
                return try LinkCommands.run(rest)
            case "key":
                return try KeyCommands.run(rest)
            case "tenant":
                return try AdminCommands.tenant(rest)
            case "account":
                return try AdminCommands.account(rest)
            case "apikey":
                return try AdminCommands.apiKey(rest)
            case "audit":
                return try AdminCommands.audit(rest)
            case "webhook":
                return try WebhookCommands.run(rest)
            default:
                throw GateError.usage("unknown command \(first)")
            }
        } catch {
            printError(error)
            if error.code == .usage { printError("run 'imagegate --help' for usage") }
            return ExitCode.of(error)
        }
    }

    /// Runs a subcommand group (`image`, `link`, `key`): picks the verb or prints the group's help.
    static func group(
        _ args: ArraySlice<String>, help: String, verbs: [String: (ArraySlice<String>) throws(GateError) -> Int32]
    ) throws(GateError) -> Int32 {
        guard let verb = args.first else {
            print(help)
            return ExitCode.usage
        }
        if verb == "--help" || verb == "-h" || verb == "help" {
            print(help)
            return ExitCode.success
        }
        guard let run = verbs[verb] else { throw GateError.usage("unknown subcommand \(verb)") }
        return try run(args.dropFirst())
    }
}

func printError(_ error: GateError) {
    LineSinkStderr.write("imagegate: error: \(error.message)")
}

func printError(_ message: String) {
    LineSinkStderr.write("imagegate: \(message)")
}

enum LineSinkStderr {
    static func write(_ s: String) { LineSink.standardError.write(line: s) }
}

/// Settings from defaults, the config file (`--config` or `IMAGEGATE_CONFIG`), then `--data-dir`.
func loadSettings(_ args: Arguments) throws(GateError) -> Settings {
    var s = Settings()
    let configPath = args.value("--config") ?? environment("IMAGEGATE_CONFIG")
    if let configPath, !configPath.isEmpty {
        guard let text = readTextFile(configPath) else {
            throw GateError.usage("cannot read config file \(configPath)")
        }
        try s.apply(configText: text, source: configPath)
    }
    if let d = args.value("--data-dir") { s.dataDir = d }
    guard !s.dataDir.isEmpty else { throw GateError.usage("data directory must not be empty") }
    // --catalog overrides only the catalog; the data directory still holds this node's local things.
    if let c = args.value("--catalog") {
        s.catalogURL = c
        _ = try CatalogLocation(s)
    }
    return s
}
