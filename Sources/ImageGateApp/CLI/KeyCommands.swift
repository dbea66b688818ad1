//===----------------------------------------------------------------------===//
// ImageGate: `imagegate key list|rotate|retire|host`.
//===----------------------------------------------------------------------===//
import DownloadTokens
import GateCore

enum KeyCommands {
    static let help = """
        Usage: imagegate key <subcommand> [--json]

          list      List the token signing keys: id, state, created, verifies until. Secrets are never shown.
          rotate    Make a new key the one that signs new links. The previous key keeps verifying the links it
                    signed until the longest of them has expired (tokens.max_ttl), then it is dropped.
                    A running server picks the change up by itself.
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
        let args = try Arguments(raw, valueOptions: [], flagOptions: ["--json"])
        if args.wantsHelp {
            print(help)
            return ExitCode.success
        }
        try args.noMorePositionals(than: 0)
        let settings = try loadSettings(args)
        let data = try DataDirectory.open(settings)
        defer { data.close() }
        print(describe(data.keys.keyring(), json: args.json, path: data.keys.keyFilePath))
        return ExitCode.success
    }

    static func rotate(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        let args = try Arguments(raw, valueOptions: [], flagOptions: ["--json"])
        if args.wantsHelp {
            print(help)
            return ExitCode.success
        }
        try args.noMorePositionals(than: 0)
        let settings = try loadSettings(args)
        let data = try DataDirectory.open(settings)
        defer { data.close() }
        let ring = try data.keys.rotate(maxLifetime: settings.tokenMaxTTL)
        if !args.json { print("new signing key \(kidText(ring.active.kid)) is active") }
        print(describe(ring, json: args.json, path: data.keys.keyFilePath))
        return ExitCode.success
    }

    static func retire(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        let args = try Arguments(raw, valueOptions: [], flagOptions: ["--json"])
        if args.wantsHelp {
            print(help)
            return ExitCode.success
        }
        try args.noMorePositionals(than: 1)
        guard let text = args.positionals.first, text.utf8.count == 8, let kid = UInt32(text, radix: 16) else {
            throw GateError.usage("key retire: expected the key id as 8 hex digits (see 'imagegate key list')")
        }
        let settings = try loadSettings(args)
        let data = try DataDirectory.open(settings)
        defer { data.close() }
        let ring = try data.keys.retire(kid: kid)
        if !args.json { print("signing key \(kidText(kid)) retired: every link it signed is now invalid") }
        print(describe(ring, json: args.json, path: data.keys.keyFilePath))
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
