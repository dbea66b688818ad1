//===----------------------------------------------------------------------===//
// ImageGate: the download front's shortcut for a plain link path names the token the path decoder would.
//===----------------------------------------------------------------------===//
import HTTPServer
import Testing
@testable import ImageGateApp

@Suite struct PlainLinkPathTests {
    /// Whenever the shortcut answers, the decoder gives exactly `["d", token, name]` with that token; whenever the
    /// decoder gives a `/d/` route from a path of plain bytes only, the shortcut answers too (random paths over
    /// separators, dots, escapes, backslash, controls, non-ASCII and ordinary characters).
    @Test func agreesWithThePathDecoder() {
        let pieces = [
            "/", "/", "d", "D", ".", "..", "%2e", "%2F", "%41", "%", "\\", " ", "\u{7f}", "é", "a", "igt1.x", "-_",
        ]
        var rng = SystemRandomNumberGenerator()
        var shortcuts = 0
        for round in 0..<20_000 {
            var path = round % 2 == 0 ? "/d/" : "/"
            if round % 4 == 0 {
                // Mostly plain: two segments of ordinary characters and dots, sometimes a third.
                for piece in ["a", ".", ".", "/", ".", "igt1.x", "a"] where Bool.random(using: &rng) || piece == "/" {
                    path += piece
                }
                if round % 8 == 0 { path += pieces.randomElement(using: &rng)! }
            } else {
                for _ in 0..<Int.random(in: 0...6, using: &rng) { path += pieces.randomElement(using: &rng)! }
            }
            let token = DownloadHandler.plainLinkToken(path)
            let segments = PathDecoder.segments(path)
            if let token {
                shortcuts += 1
                #expect(segments?.count == 3 && segments?[0] == "d" && segments?[1] == String(token), "\(path)")
            } else if let segments, segments.count == 3, segments[0] == "d",
                path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "%") && $0 != 0x5C })
            {
                Issue.record("plain link path not taken: \(path)")
            }
        }
        #expect(shortcuts > 200)
        let token = "igt1." + String(repeating: "A", count: 124) + "." + String(repeating: "B", count: 43)
        #expect(DownloadHandler.plainLinkToken("/d/\(token)/ubuntu.iso") == token[...])
        for path in [
            "/d/\(token)/", "/d/\(token)", "/d//x", "/d/\(token)/a/b", "/d/../x", "/d/x/..", "/d/%41/x", "/i/x/y",
        ] {
            #expect(DownloadHandler.plainLinkToken(path) == nil, "\(path)")
        }
    }
}
