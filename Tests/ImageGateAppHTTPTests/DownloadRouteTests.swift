//===----------------------------------------------------------------------===//
// ImageGate: downloads through the HTTP front in-process: full, Range, If-Range, HEAD, 404, 416.
//===----------------------------------------------------------------------===//
import Testing
import TestSupport

@Suite struct DownloadRouteTests {
    /// An app with one imported image of `size` seeded bytes and a link to it.
    struct Served {
        let app: AppFixture
        let bytes: [UInt8]
        let link: String

        init(size: Int = 64 * 1024, seed: UInt64) throws {
            app = try AppFixture()
            var random = SeededRandom(seed: seed)
            bytes = random.bytes(size)
            let id = try app.importImage("disk-\(seed)", bytes)
            link = try app.mintLink(id).path
        }
    }

    @Test("a GET of a link answers 200 with every byte, the length, ETag and Accept-Ranges")
    func fullDownload() throws {
        let s = try Served(seed: 11)
        defer { s.app.close() }
        let r = try s.app.send(.get(s.link))
        #expect(r.status == 200)
        #expect(byteDifference(r.body, s.bytes) == nil)
        #expect(r.header("Content-Length") == String(s.bytes.count))
        #expect(r.header("Accept-Ranges") == "bytes")
        #expect(r.header("ETag")?.hasPrefix("\"") == true)
        #expect(r.header("Content-Disposition")?.hasPrefix("attachment; filename=") == true)
    }

    @Test("Range: one range is 206 with Content-Range and exactly those bytes; a suffix range too")
    func singleRange() throws {
        let s = try Served(seed: 12)
        defer { s.app.close() }
        let client = try s.app.connect()
        let r = try client.exchange(RawRequest.get(s.link).with("Range", "bytes=100-1123"))
        #expect(r.status == 206)
        #expect(r.header("Content-Range") == "bytes 100-1123/\(s.bytes.count)")
        #expect(byteDifference(r.body, Array(s.bytes[100...1123])) == nil)
        // The same connection serves the next range (keep-alive).
        let tail = try client.exchange(RawRequest.get(s.link).with("Range", "bytes=-10"))
        #expect(tail.status == 206)
        #expect(byteDifference(tail.body, Array(s.bytes.suffix(10))) == nil)
    }

    @Test("If-Range with the current ETag keeps the range; with another validator the whole file comes back")
    func ifRange() throws {
        let s = try Served(seed: 13)
        defer { s.app.close() }
        let client = try s.app.connect()
        let etag = try #require(try client.exchange(.head(s.link)).header("ETag"))
        let same = try client.exchange(RawRequest.get(s.link).with("Range", "bytes=0-9").with("If-Range", etag))
        #expect(same.status == 206)
        #expect(byteDifference(same.body, Array(s.bytes[0...9])) == nil)
        let stale = try client.exchange(
            RawRequest.get(s.link).with("Range", "bytes=0-9").with("If-Range", "\"not-this-version\""))
        #expect(stale.status == 200)
        #expect(byteDifference(stale.body, s.bytes) == nil)
    }

    @Test("HEAD answers the GET's fields and length without a body")
    func head() throws {
        let s = try Served(seed: 14)
        defer { s.app.close() }
        let client = try s.app.connect()
        let h = try client.exchange(.head(s.link))
        #expect(h.status == 200)
        #expect(h.header("Content-Length") == String(s.bytes.count))
        #expect(h.body.isEmpty)
        // Had a body followed the HEAD answer, this response would not parse.
        let g = try client.exchange(RawRequest.get(s.link).with("Range", "bytes=0-3"))
        #expect(g.status == 206)
        #expect(byteDifference(g.body, Array(s.bytes[0...3])) == nil)
    }

    @Test("a bad token, an unknown path and a token for nothing all get the same 404")
    func badToken() throws {
        let s = try Served(seed: 15)
        defer { s.app.close() }
        // Flip one character of the token's MAC (the end of the token segment).
        var parts = s.link.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var token = Array(parts[2])
        token[token.count - 2] = token[token.count - 2] == "A" ? "B" : "A"
        parts[2] = String(token)
        let forged = parts.joined(separator: "/")
        for path in [forged, "/d/igt1.nonsense/disk.img", "/no/such/route"] {
            let r = try s.app.send(.get(path))
            #expect(r.status == 404, "\(path)")
            #expect(r.text == "Not Found\n")
        }
    }

    @Test("a range past the end is 416 with Content-Range bytes */length and no body")
    func unsatisfiable() throws {
        let s = try Served(seed: 16)
        defer { s.app.close() }
        let r = try s.app.send(RawRequest.get(s.link).with("Range", "bytes=\(s.bytes.count)-"))
        #expect(r.status == 416)
        #expect(r.header("Content-Range") == "bytes */\(s.bytes.count)")
        #expect(r.body.isEmpty)
    }

    @Test("the access log names the download with the token redacted and the bytes sent")
    func accessLine() throws {
        let s = try Served(seed: 17)
        defer { s.app.close() }
        _ = try s.app.send(RawRequest.get(s.link).with("Range", "bytes=0-99"))
        var line = try s.app.accessLog.nextJSON()
        // The mint went through the API on the same listener first.
        if (line["path"] as? String)?.hasPrefix("/api/") == true { line = try s.app.accessLog.nextJSON() }
        #expect(line["status"] as? Int == 206)
        #expect(line["bytes"] as? Int == 100)
        let token = String(s.link.split(separator: "/")[1])
        let logged = try #require(line["path"] as? String)
        #expect(!logged.contains(token))
        #expect(logged.hasPrefix("/d/igt1."))
    }
}
