//===----------------------------------------------------------------------===//
// ImageGate: configuration parsing, and the example file against the code.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
@testable import ImageGateApp
import Testing
import SystemIO
import HTTPServer
import ImportPipeline
import SFTPServer

@Suite struct SettingsTests {
    static let exampleURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Config/imagegate.conf.example")

    @Test("Config/imagegate.conf.example lists every key with its built-in default")
    func exampleMatchesCode() throws {
        let text = try String(contentsOf: Self.exampleURL, encoding: .utf8)
        var seen: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            seen[key] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        #expect(Set(seen.keys) == Set(SettingKey.all.map(\.name)))
        for key in SettingKey.all {
            #expect(seen[key.name] == key.defaultText, "\(key.name)")
        }
        // Applying the example yields exactly the defaults.
        var s = Settings()
        try s.apply(configText: text, source: "example")
        let d = Settings()
        #expect(s.dataDir == d.dataDir && s.httpListen == d.httpListen && s.tokenDefaultTTL == d.tokenDefaultTTL)
        #expect(s.tokenMaxTTL == d.tokenMaxTTL && s.http.headerTimeoutMs == d.http.headerTimeoutMs)
        #expect(s.http.maxConnectionsPerPeer == d.http.maxConnectionsPerPeer && s.accessLog == d.accessLog)
    }

    @Test func appliesValues() throws {
        var s = Settings()
        try s.apply(
            configText: """
                # comment
                http.listen = [::1]:9000   # trailing comment
                tokens.default_ttl = 1h30m
                http.header_timeout = 5s
                http.public_url = https://images.example.com/
                log.level = debug
                """, source: "t")
        #expect(s.httpListen.host == "::1" && s.httpListen.port == 9000)
        #expect(s.tokenDefaultTTL == 5400)
        #expect(s.http.headerTimeoutMs == 5000)
        #expect(s.httpPublicURL == "https://images.example.com")
        #expect(s.logLevel == .debug)
    }

    /// The boolean settings and where each lands.
    static let booleans: [String: @Sendable (Settings) -> Bool] = [
        "sftp.compression": { $0.sftp.compression }, "ftp.allow_plain": { $0.ftp.allowPlain },
        "catalog.quick_check": { $0.catalogGuards.quickCheck },
        "webhooks.allow_plain_http": { $0.webhooks.allowPlainHTTP },
    ]

    /// One error for `text` as the only line of a config file (nil: accepted).
    static func refusal(_ text: String) -> String? {
        var s = Settings()
        do {
            try s.apply(configText: text, source: "f")
            return nil
        } catch {
            return error.message
        }
    }

    @Test(
        "every boolean setting reads the same words and refuses others naming the key and the words",
        arguments: booleans.keys.sorted())
    func booleansReadTheSameWords(key: String) throws {
        for (word, value) in [
            ("true", true), ("yes", true), ("on", true), ("false", false), ("no", false), ("off", false),
        ] {
            var s = Settings()
            try s.apply(configText: "\(key) = \(word)", source: "f")
            #expect(Self.booleans[key]?(s) == value, "\(key) = \(word)")
        }
        #expect(
            Self.refusal("\(key) = maybe") == "f:1: \(key): expected true or false (also yes/no, on/off), got \"maybe\""
        )
    }

    @Test func plainLinksTakeAutoOrABoolean() throws {
        var s = Settings()
        try s.apply(configText: "http.listen = 0.0.0.0:8080\nhttp.plain_links = yes", source: "f")
        #expect(s.plainLinksEnabled)
        try s.apply(configText: "http.plain_links = off", source: "f")
        #expect(!s.plainLinksEnabled)
        #expect(
            Self.refusal("http.plain_links = maybe")
                == "f:1: http.plain_links: expected auto, true or false (also yes/no, on/off), got \"maybe\"")
    }

    @Test(
        "a malformed CIDR in an allow_private list is refused with the key and the value, never dropped",
        arguments: ["imports.allow_private", "webhooks.allow_private"])
    func allowPrivateRefusesAMalformedRange(key: String) throws {
        #expect(
            Self.refusal("\(key) = 10.1.0.0/16, 10.2.0.0/33")
                == "f:1: \(key): \"10.2.0.0/33\" is not an address range like 10.1.0.0/16")
        #expect(Self.refusal("\(key) = 10.1.0.0/16,fd00::/8") == nil)
        var s = Settings()
        try s.apply(configText: "imports.allow_private = 10.1.0.0/16, 192.168.7.0/24", source: "f")
        #expect(s.imports.allowedPrivateRanges == ["10.1.0.0/16", "192.168.7.0/24"])
    }

    @Test("cache.readahead_slices: 2 by default, 0 turns it off, at most half of what cache.max_bytes holds")
    func readAheadSlices() throws {
        #expect(Settings().cache.readAheadSlices == 2)
        var s = Settings()
        try s.apply(configText: "cache.readahead_slices = 0", source: "f")
        #expect(s.cache.readAheadSlices == 0)
        try s.apply(configText: "cache.max_bytes = 96MiB\ncache.readahead_slices = 3", source: "f")
        #expect(s.cache.readAheadSlices == 3)
        #expect(
            Self.refusal("cache.max_bytes = 96MiB\ncache.readahead_slices = 4")
                == "f: cache.readahead_slices (4) must be at most half of what cache.max_bytes holds "
                + "(6 slices of cache.slice_bytes)")
        #expect(Self.refusal("cache.readahead_slices = 17") == "f:1: cache.readahead_slices: at most 16, got 17")
        #expect(Self.refusal("cache.readahead_slices = -1")?.hasPrefix("f:1: cache.readahead_slices: expected") == true)
    }

    @Test(
        "mistakes are usage errors naming the line",
        arguments: [
            "http.lisen = 1", "http.listen = nowhere", "tokens.max_ttl = forever", "http.loops = -1",
            "just words", "log.level = loud", "http.public_url = ftp://x", "tokens.default_ttl = 8d",
        ])
    func refuses(line: String) {
        var s = Settings()
        #expect(throws: GateError.self) { try s.apply(configText: "# first\n" + line, source: "f") }
        do {
            try s.apply(configText: "# first\n" + line, source: "f")
        } catch {
            #expect(error.code == .usage)
            #expect(error.message.hasPrefix("f:2: ") || error.message.hasPrefix("f: "))
        }
    }
}
