//===----------------------------------------------------------------------===//
// ImageGate: `imagegate key list|rotate|retire|host`.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import DownloadTokens
import GateCore

enum KeyCommands {
    static let help = """
        Usage: imagegate key <subcommand> [--json]

          list      List the token signing keys: id, state, created, verifies until. Secrets are never shown.
          rotate    Make a new key the one that signs new links. The previous key keeps verifying the links it
                    signed until the longest of them has expired (tokens.max_ttl), then it is dropped.
                    A running server picks the change up by itself.
                    --recreate-missing: only when keys/token-keys.json or keys/deployment-id is lost and
                    there is no backup: make new ones (every link minted before stops working, for good).
                    Without it, every command refuses to run while they are missing (Docs/recovery.md).
          retire KID
                    Remove a verify-only key at once (a leaked key): every link it signed stops working on every
                    protocol, and FTP and SFTP sessions opened with those links are ended within seconds.
                    The active key cannot be retired: rotate first.
          host      Show the SFTP server's SSH host keys (fingerprints and public keys), making them if missing.

        Common options: --data-dir DIR, --config FILE.
        """

    static func run(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        try ImageGateCLI.group(args, help: help, verbs: [
            "list": list, "rotate": rotate, "retire": retire, "host": SFTPHostKeyCommand.run,
        ])
    }

    static func list(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard let args = try CommandPrelude.parse(raw, flagOptions: ["--json"], maxPositionals: 0, help: help)
        else { return ExitCode.success }
        try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
            print(describe(data.keys.keyring(), json: args.json, path: data.keys.keyFilePath))
        }
        return ExitCode.success
    }

    static func rotate(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard let args = try CommandPrelude.parse(
            raw, flagOptions: ["--json", "--recreate-missing"], maxPositionals: 0, help: help)
        else { return ExitCode.success }
        // The settings come first: --recreate-missing must name the files before the guards refuse to open.
        if args.flags.contains("--recreate-missing") { return try recreateMissing(try loadSettings(args), json: args.json) }
        try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
            let ring = try data.keys.rotate(maxLifetime: data.settings.tokenMaxTTL)
            if !args.json { print("new signing key \(kidText(ring.active.kid)) is active") }
            print(describe(ring, json: args.json, path: data.keys.keyFilePath))
        }
        return ExitCode.success
    }

    /// `key rotate --recreate-missing`: the deliberate, logged way past the missing-key-file refusal.
    static func recreateMissing(_ settings: Settings, json: Bool) throws(GateError) -> Int32 {
        let missing = [TokenKeyStore.keyFileName, TokenKeyStore.deploymentIDFileName].filter {
            access(settings.keysDir + "/" + $0, F_OK) != 0
        }
        let data = try DataDirectory.open(settings, recreateMissingKeys: true)
        defer { data.close() }
        for name in missing {
            printError("warning: made a new \(absolutePath(settings.keysDir + "/" + name)); every link minted before it "
                + "no longer works")
        }
        print(describe(data.keys.keyring(), json: json, path: data.keys.keyFilePath))
        return ExitCode.success
    }

    static func retire(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard let args = try CommandPrelude.parse(raw, flagOptions: ["--json"], maxPositionals: 1, help: help)
        else { return ExitCode.success }
        guard let text = args.positionals.first, text.utf8.count == 8, let kid = UInt32(text, radix: 16) else {
            throw GateError.usage("key retire: expected the key id as 8 hex digits (see 'imagegate key list')")
        }
        try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
            let ring = try data.keys.retire(kid: kid)
            if !args.json { print("signing key \(kidText(kid)) retired: every link it signed is now invalid") }
            print(describe(ring, json: args.json, path: data.keys.keyFilePath))
        }
        return ExitCode.success
    }

    static func kidText(_ kid: UInt32) -> String {
        let h = String(kid, radix: 16)
        return String(repeating: "0", count: 8 - h.count) + h
    }

    static func describe(_ ring: Keyring, json: Bool, path: String) -> String {
        if json {
            let keys: [[String: Any]] = ring.keys.map { k in
                var o: [String: Any] = [
                    "kid": kidText(k.kid), "state": k.state == .active ? "active" : "verify-only",
                    "created_at": TimeFormat.rfc3339(k.createdAt),
                ]
                if let v = k.verifyUntil { o["verify_until"] = TimeFormat.rfc3339(v) }
                return o
            }
            return jsonText(["key_file": path, "keys": keys])
        }
        var out = "key file: \(path)\n"
        out += "KID       STATE        CREATED               VERIFIES UNTIL"
        for k in ring.keys {
            let state = k.state == .active ? "active     " : "verify-only"
            out += "\n\(kidText(k.kid))  \(state)  \(TimeFormat.rfc3339(k.createdAt))  "
            out += k.verifyUntil.map { TimeFormat.rfc3339($0) } ?? "-"
        }
        return out
    }
}

import Foundation

func jsonText(_ object: Any) -> String {
    let data = (try? JSONSerialization.data(
        withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}
