//===----------------------------------------------------------------------===//
// ImageGate: `imagegate key list|rotate|retire|remove|host`.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import DownloadTokens
import GateCore
import ImageManagement
import SystemIO

enum KeyCommands {
    static let help = """
        Usage: imagegate key <subcommand> [--json]

          list      List the token signing keys: id, state (active, verify-only, or retired: past its
                    verify-until, listed until the next rotation or 'key remove'), created, verifies until.
                    Secrets are never shown.
          rotate    Make a new key the one that signs new links. The previous key keeps verifying the links it
                    signed until the longest of them has expired (tokens.max_ttl), then it is dropped.
                    A running server picks the change up by itself (every node of a shared catalog within
                    about a second).
                    --recreate-missing: only when keys/token-keys.json or keys/deployment-id is lost and
                    there is no backup: make new ones (every link minted before stops working, for good).
                    Without it, every command refuses to run while they are missing (Docs/recovery.md).
          retire KID
                    Remove a verify-only key at once (a leaked key): every link it signed stops working on every
                    protocol, and FTP and SFTP sessions opened with those links are ended within seconds.
                    The active key cannot be retired: rotate first.
          remove KID
                    Remove any key but the active one from the keyring, whether it still verifies or is already
                    retired: links it signed stop working on every node within about a second, FTP and SFTP
                    sessions opened with them end, the next HTTP request with them is refused. The active key
                    (the one that signs new links) cannot be removed: rotate first.
          host      Show the SFTP server's SSH host keys (fingerprints and public keys), making them if missing.

        With a shared catalog (catalog.url, --catalog URL) the keyring lives in the catalog and these commands
        act on it from any node (Docs/tokens.md). Rotations and removals are recorded in the audit log.

        Common options: --data-dir DIR, --config FILE, --catalog URL.
        """

    static func run(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        try ImageGateCLI.group(
            args, help: help,
            verbs: [
                "list": list, "rotate": rotate, "retire": retire, "remove": remove, "host": SFTPHostKeyCommand.run,
            ])
    }

    static func list(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard let args = try CommandPrelude.parse(raw, flagOptions: ["--json"], maxPositionals: 0, help: help)
        else { return ExitCode.success }
        try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
            print(describe(data.keys.keyring(), json: args.json, keys: data.keys, now: data.clock.now()))
        }
        return ExitCode.success
    }

    static func rotate(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard
            let args = try CommandPrelude.parse(
                raw, flagOptions: ["--json", "--recreate-missing"], maxPositionals: 0, help: help)
        else { return ExitCode.success }
        // The settings come first: --recreate-missing must name the files before the guards refuse to open.
        if args.flags.contains("--recreate-missing") {
            return try recreateMissing(try loadSettings(args), json: args.json)
        }
        try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
            let ring = try data.keys.rotate(maxLifetime: data.settings.tokenMaxTTL)
            audit(data, "key.rotate", kid: ring.active.kid)
            if !args.json { print("new signing key \(kidText(ring.active.kid)) is active") }
            print(describe(ring, json: args.json, keys: data.keys, now: data.clock.now()))
        }
        return ExitCode.success
    }

    /// `key rotate --recreate-missing`: the deliberate, logged way past the missing-key-file refusal.
    static func recreateMissing(_ settings: Settings, json: Bool) throws(GateError) -> Int32 {
        let missing = [TokenKeyStore.keyFileName, TokenKeyStore.deploymentIDFileName].filter {
            !FileIO.exists(settings.keysDir + "/" + $0)
        }
        let data = try DataDirectory.open(settings, recreateMissingKeys: true)
        defer { data.close() }
        // Key files in the data directory, or (shared catalog) what the key store had to make in the catalog.
        let made =
            data.keys.files == nil ? data.keys.created : missing.map { absolutePath(settings.keysDir + "/" + $0) }
        for what in made {
            printError("warning: made a new \(what); every link minted before it no longer works")
        }
        print(describe(data.keys.keyring(), json: json, keys: data.keys, now: data.clock.now()))
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
            audit(data, "key.retire", kid: kid)
            if !args.json { print("signing key \(kidText(kid)) retired: every link it signed is now invalid") }
            print(describe(ring, json: args.json, keys: data.keys, now: data.clock.now()))
        }
        return ExitCode.success
    }

    static func remove(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard let args = try CommandPrelude.parse(raw, flagOptions: ["--json"], maxPositionals: 1, help: help)
        else { return ExitCode.success }
        guard let text = args.positionals.first, text.utf8.count == 8, let kid = UInt32(text, radix: 16) else {
            throw GateError.usage("key remove: expected the key id as 8 hex digits (see 'imagegate key list')")
        }
        try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
            let before = data.keys.keyring().keys.first { $0.kid == kid }
            let ring = try data.keys.remove(kid: kid)
            let wasUsable = before?.usable(at: data.clock.now()) ?? false
            audit(data, "key.remove", kid: kid, detail: ["verified_until_removal": wasUsable ? "true" : "false"])
            if !args.json {
                let effect = wasUsable ? ": every link it signed is now invalid" : " (it no longer verified anything)"
                print("signing key \(kidText(kid)) removed" + effect)
            }
            print(describe(ring, json: args.json, keys: data.keys, now: data.clock.now()))
        }
        return ExitCode.success
    }

    /// One audit event per keyring change, by the local administrator (the CLI acts on the data directory).
    private static func audit(_ data: DataDirectory, _ action: String, kid: UInt32, detail: [String: String] = [:]) {
        data.service.audit(
            .localAdmin, action: action, target: kidText(kid), targetTenant: nil, source: "cli", outcome: "ok",
            detail: detail)
    }

    static func kidText(_ kid: UInt32) -> String {
        let h = String(kid, radix: 16)
        return String(repeating: "0", count: 8 - h.count) + h
    }

    /// `retired`: a verify-only key past its verify-until; it no longer verifies and goes at the next rotation
    /// (or `key remove`).
    static func stateText(_ k: SigningKey, now: Int64) -> String {
        k.state == .active ? "active" : k.usable(at: now) ? "verify-only" : "retired"
    }

    /// Where the keyring is kept: the key file's path, or the shared catalog.
    static func storageText(_ keys: TokenKeyStore) -> String {
        keys.files.map { absolutePath($0.keyFilePath) }
            ?? "shared catalog (document '\(CatalogKeyringStorage.keyringDocument)')"
    }

    static func describe(_ ring: Keyring, json: Bool, keys: TokenKeyStore, now: Int64) -> String {
        if json {
            let list: [[String: Any]] = ring.keys.map { k in
                var o: [String: Any] = [
                    "kid": kidText(k.kid), "state": stateText(k, now: now),
                    "created_at": TimeFormat.rfc3339(k.createdAt),
                ]
                if let v = k.verifyUntil { o["verify_until"] = TimeFormat.rfc3339(v) }
                return o
            }
            var out: [String: Any] = ["keys": list, "storage": keys.files == nil ? "catalog" : "file"]
            if let files = keys.files { out["key_file"] = files.keyFilePath }
            return jsonText(out)
        }
        var out = keys.files == nil ? "keyring: \(storageText(keys))\n" : "key file: \(keys.files!.keyFilePath)\n"
        out += "KID       STATE        CREATED               VERIFIES UNTIL"
        for k in ring.keys {
            let state = stateText(k, now: now).padding(toLength: 11, withPad: " ", startingAt: 0)
            out += "\n\(kidText(k.kid))  \(state)  \(TimeFormat.rfc3339(k.createdAt))  "
            out += k.verifyUntil.map { TimeFormat.rfc3339($0) } ?? "-"
        }
        return out
    }
}

import Foundation

func jsonText(_ object: Any) -> String {
    let data =
        (try? JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}
