//===----------------------------------------------------------------------===//
// ImageGate: an import through the API in-process: POST /api/v1/imports, then the bytes by tus PATCH.
//===----------------------------------------------------------------------===//
import Testing
import TestSupport

@Suite struct UploadImportTests {
    static func uploadRequest(_ name: String, size: Int) -> [String: Any] {
        [
            "name": name, "kind": "self_made", "format": "raw", "system_type": "Linux", "platform": "CentOS",
            "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
            "source": ["upload": ["size": size]],
        ]
    }

    @Test("POST /imports then one tus PATCH: the image becomes available and downloads byte for byte")
    func uploadThenDownload() throws {
        let app = try AppFixture()
        defer { app.close() }
        var random = SeededRandom(seed: 31)
        let bytes = random.bytes(200 * 1024)
        let created = try app.api("POST", "/api/v1/imports", json: Self.uploadRequest("uploaded", size: bytes.count))
        #expect(created.status == 201)
        let o = try created.json()
        #expect(o["status"] as? String == "uploading")
        #expect(o["upload_protocol"] as? String == "tus 1.0.0")
        let id = try #require(o["id"] as? String)
        let uploadURL = try #require(o["upload_url"] as? String)

        let patch = try app.send(
            RawRequest(
                "PATCH", uploadURL,
                headers: [
                    ("Authorization", "Bearer \(app.adminKey)"), ("Tus-Resumable", "1.0.0"), ("Upload-Offset", "0"),
                    ("Content-Type", "application/offset+octet-stream"),
                ], body: bytes))
        #expect(patch.status == 204)
        #expect(patch.header("Upload-Offset") == String(bytes.count))

        // The finalize (fsync, rename, catalog) runs on its own thread after the 204.
        var status = ""
        try waitUntil("the upload to become available") {
            status = try app.api("GET", "/api/v1/images/\(id)").json()["status"] as? String ?? ""
            return status != "uploading"
        }
        #expect(status == "available")
        #expect(byteDifference(try app.send(.get(try app.mintLink(id).path)).body, bytes) == nil)
    }

    @Test("a PATCH at the wrong offset is refused with 409 and the upload keeps its offset")
    func wrongOffset() throws {
        let app = try AppFixture()
        defer { app.close() }
        let created = try app.api("POST", "/api/v1/imports", json: Self.uploadRequest("offset", size: 4096))
        let uploadURL = try #require(try created.json()["upload_url"] as? String)
        let headers = [("Authorization", "Bearer \(app.adminKey)"), ("Tus-Resumable", "1.0.0")]
        let patch = try app.send(
            RawRequest(
                "PATCH", uploadURL,
                headers: headers + [
                    ("Upload-Offset", "100"), ("Content-Type", "application/offset+octet-stream"),
                ], body: [UInt8](repeating: 7, count: 10)))
        #expect(patch.status == 409)
        let head = try app.send(RawRequest("HEAD", uploadURL, headers: headers))
        #expect(head.status == 200)
        #expect(head.header("Upload-Offset") == "0")
        #expect(head.header("Upload-Length") == "4096")
    }
}
