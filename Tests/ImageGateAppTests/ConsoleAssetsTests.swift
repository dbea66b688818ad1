//===----------------------------------------------------------------------===//
// ImageGate: the console files compiled into the binary match Console/ and the guide; URL → asset mapping.
//===----------------------------------------------------------------------===//
import ConsoleAssets
import Foundation
@testable import ImageGateApp
import Testing

@Suite struct ConsoleAssetsTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("ConsoleAssets.swift is up to date (run scripts/embed-console.py after editing Console/)")
    func generatedFileIsCurrent() throws {
        var expected: [String: String] = [:]
        let dir = Self.root.appendingPathComponent("Console")
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path)
        where [".html", ".js", ".css", ".svg"].contains(where: { name.hasSuffix($0) }) {
            expected[name] = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
        }
        expected["custom-image-guide.md"] = try String(
            contentsOf: Self.root.appendingPathComponent("Docs/custom-image-guide.md"), encoding: .utf8)
        #expect(Set(ConsoleAssets.files.keys) == Set(expected.keys))
        for (name, text) in expected {
            #expect(ConsoleAssets.files[name] == text, "\(name) differs: run scripts/embed-console.py")
        }
    }

    @Test func pathsMapOnlyToTheTable() {
        #expect(ConsoleHandler.asset(for: "/console/") == "index.html")
        #expect(ConsoleHandler.asset(for: "/console/app.js") == "app.js")
        #expect(ConsoleHandler.asset(for: "/console/recycle-bin") == "index.html")
        #expect(ConsoleHandler.asset(for: "/console/images/img-1/download") == "index.html")
        for bad in [
            "/console/../etc/passwd", "/console/..", "/console/x.png", "/console/.git/config", "/consolex/",
            "/console/App.js", "/console/a b",
        ] {
            #expect(ConsoleHandler.asset(for: bad) == nil, "\(bad)")
        }
    }

    @Test func everyStringKeyUsedExists() throws {
        // Every t("key") in the console names a key of strings.en.js (one place for every user-facing string).
        let dir = Self.root.appendingPathComponent("Console")
        let strings = try String(contentsOf: dir.appendingPathComponent("strings.en.js"), encoding: .utf8)
        let keyPattern = try NSRegularExpression(pattern: #"^\s*"([a-zA-Z0-9_.]+)":"#, options: [.anchorsMatchLines])
        var keys = Set<String>()
        for m in keyPattern.matches(in: strings, range: NSRange(strings.startIndex..., in: strings)) {
            keys.insert(String(strings[Range(m.range(at: 1), in: strings)!]))
        }
        let inline = try NSRegularExpression(pattern: #""([a-zA-Z0-9_.]+)": "#)
        for m in inline.matches(in: strings, range: NSRange(strings.startIndex..., in: strings)) {
            keys.insert(String(strings[Range(m.range(at: 1), in: strings)!]))
        }
        // Literal keys only (`t("status." + s)` builds its key at run time).
        let use = try NSRegularExpression(pattern: #"\bt\("([a-zA-Z0-9_.]+)"[,)]"#)
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".js") {
            let js = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            for m in use.matches(in: js, range: NSRange(js.startIndex..., in: js)) {
                let key = String(js[Range(m.range(at: 1), in: js)!])
                let known = keys.contains(key)
                #expect(known, "\(name): t(\"\(key)\") has no string in strings.en.js")
            }
            // Plural strings: tn("key", n) needs at least "key.other" (and "key.one" in English).
            let plural = try NSRegularExpression(pattern: #"\btn\("([a-zA-Z0-9_.]+)","#)
            for m in plural.matches(in: js, range: NSRange(js.startIndex..., in: js)) {
                let key = String(js[Range(m.range(at: 1), in: js)!])
                #expect(
                    keys.contains(key + ".other") && keys.contains(key + ".one"),
                    "\(name): tn(\"\(key)\") has no \(key).one/.other in strings.en.js")
            }
        }
    }
}
