//===----------------------------------------------------------------------===//
// ImageGate: `imagegate key host [--json]`: the SFTP server's SSH host keys.
//===----------------------------------------------------------------------===//
import GateCore
import SFTPServer

enum SFTPHostKeyCommand {
    /// Prints `<kind> SHA256:… <path>` per key, or with --json the fingerprints, public keys (for a
    /// `known_hosts` line) and paths. Keys are made on first use, exactly as `serve` would (with a shared
    /// catalog: the catalog's, SharedIdentity.syncHostKeys).
    static func run(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard
            let args = try CommandPrelude.parse(
                raw, flagOptions: ["--json"], maxPositionals: 0, help: KeyCommands.help)
        else { return ExitCode.success }
        let settings = try loadSettings(args)
        try DataDirectory.makeDirectories(settings.dataDir)
        // With a shared catalog the keys are the cluster's: opening the data directory brings them into ssh/.
        if try !CatalogLocation(settings).isEmbedded(settings) { try DataDirectory.open(settings).close() }
        let keys = try SSHHostKeys.loadOrCreate(directory: settings.sshHostKeyDir)
        if args.json {
            let list: [[String: Any]] = keys.map {
                ["type": $0.kind, "fingerprint": $0.fingerprint, "public_key": $0.publicKey, "path": $0.path]
            }
            print(jsonText(["host_keys": list]))
        } else {
            for k in keys { print("\(k.kind) \(k.fingerprint) \(k.path)") }
        }
        return ExitCode.success
    }
}
