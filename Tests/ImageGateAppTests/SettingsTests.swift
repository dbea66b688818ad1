//===----------------------------------------------------------------------===//
// ImageGate: configuration parsing, and the example file against the code.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
@testable import ImageGateApp
import Testing
import SystemIO
import HTTPServer

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
