//===----------------------------------------------------------------------===//
// ImageGate: the management API through the HTTP front in-process: accounts and keys, the image lifecycle,
// links, and how errors map to statuses and JSON codes.
//===----------------------------------------------------------------------===//
import Testing
import TestSupport

@Suite struct ManagementAPITests {
    /// The `items` of a list answer, each an object.
    static func items(_ r: HTTPResponse) throws -> [[String: Any]] {
        try #require(try r.json()["items"] as? [[String: Any]])
    }

    static func ids(_ r: HTTPResponse) throws -> [String] { try items(r).compactMap { $0["id"] as? String } }

    @Test("a tenant, a view sub-account and its API key: the key works and is confined to its tenant and role")
    func tenantAccountKey() throws {
        let app = try AppFixture()
        defer { app.close() }
        let adminImage = try app.importImage("admin-disk", SeededRandom(seed: 21).bytes4k)

        let t = try app.api("POST", "/api/v1/tenants", json: ["name": "acme"])
        #expect(t.status == 201)
        let tenant = try #require((try t.json()["tenant"] as? [String: Any])?["id"] as? String)
        let owner = try #require((try t.json()["owner"] as? [String: Any])?["id"] as? String)

        let ownerKey = try app.api("POST", "/api/v1/api-keys", json: ["account_id": owner])
        #expect(ownerKey.status == 201)
        let ownerSecret = try #require(try ownerKey.json()["secret"] as? String)
        #expect(ownerSecret.hasPrefix("igk_"))

        // The owner makes a view-only sub-account in its own tenant, and a key for it.
        let a = try app.api(
            "POST", "/api/v1/accounts", key: ownerSecret, json: ["name": "reader", "permission": "view"])
        #expect(a.status == 201)
        #expect(try a.json()["tenant"] as? String == tenant)
        #expect(try a.json()["permission"] as? String == "view")
        let reader = try #require(try a.json()["id"] as? String)
        let readerKey = try #require(
            try app.api("POST", "/api/v1/api-keys", key: ownerSecret, json: ["account_id": reader]).json()["secret"]
                as? String)

        let me = try app.api("GET", "/api/v1/me", key: readerKey)
        #expect(me.status == 200)
        #expect(me.text.contains(reader))

        // Another tenant's image does not exist for this key: absent from the list, 404 by id (never 403).
        #expect(try Self.ids(app.api("GET", "/api/v1/images", key: readerKey)).isEmpty)
        let other = try app.api("GET", "/api/v1/images/\(adminImage)", key: readerKey)
        #expect(other.status == 404)
        #expect(other.errorCode == "not_found")
        // A view account may not create accounts: 403 permission_denied.
        let denied = try app.api("POST", "/api/v1/accounts", key: readerKey, json: ["name": "x", "permission": "view"])
        #expect(denied.status == 403)
        #expect(denied.errorCode == "permission_denied")
    }

    @Test("list with filters, rename, delete to the recycle bin, restore")
    func imageLifecycle() throws {
        let app = try AppFixture()
        defer { app.close() }
        var random = SeededRandom(seed: 22)
        let alpha = try app.importImage("alpha-linux", random.bytes(8192), tags: ["prod"])
        let beta = try app.importImage("beta-bsd", random.bytes(4096), tags: ["test"])

        #expect(Set(try Self.ids(app.api("GET", "/api/v1/images?status=available"))) == [alpha, beta])
        #expect(try Self.ids(app.api("GET", "/api/v1/images?tag=prod")) == [alpha])
        #expect(try Self.ids(app.api("GET", "/api/v1/images?q=bsd")) == [beta])
        #expect(try Self.ids(app.api("GET", "/api/v1/images?sort=size&order=asc")) == [beta, alpha])
        #expect(try Self.ids(app.api("GET", "/api/v1/images?status=failed")).isEmpty)

        let renamed = try app.api("PATCH", "/api/v1/images/\(alpha)", json: ["name": "alpha-renamed"])
        #expect(renamed.status == 200)
        #expect(try renamed.json()["name"] as? String == "alpha-renamed")
        #expect(try app.api("GET", "/api/v1/images/\(alpha)").json()["name"] as? String == "alpha-renamed")

        let deleted = try app.api("DELETE", "/api/v1/images/\(alpha)")
        #expect(deleted.status == 200)
        #expect(try deleted.json()["status"] as? String == "deleted")
        #expect(try Self.ids(app.api("GET", "/api/v1/images")) == [beta])
        #expect(try Self.ids(app.api("GET", "/api/v1/recycle-bin")) == [alpha])
        // The lifecycle table: an image in the recycle bin cannot be deleted again (409 conflict).
        let again = try app.api("DELETE", "/api/v1/images/\(alpha)")
        #expect(again.status == 409)
        #expect(again.errorCode == "conflict")

        let restored = try app.api("POST", "/api/v1/images/\(alpha)/restore")
        #expect(restored.status == 200)
        #expect(try restored.json()["status"] as? String == "available")
        #expect(Set(try Self.ids(app.api("GET", "/api/v1/images"))) == [alpha, beta])
        #expect(try Self.ids(app.api("GET", "/api/v1/recycle-bin")).isEmpty)
    }

    @Test("a minted link downloads; a revoked link gets 410 with its sentence, a link to a deleted image 404")
    func linksMintRevoke() throws {
        let app = try AppFixture()
        defer { app.close() }
        let bytes = SeededRandom(seed: 23).bytes4k
        let id = try app.importImage("linked", bytes)
        let kept = try app.mintLink(id)
        let revoked = try app.mintLink(id)
        let beforeDelete = try app.mintLink(id)
        #expect(kept.serial != revoked.serial)

        #expect(byteDifference(try app.send(.get(kept.path)).body, bytes) == nil)

        let r = try app.api("DELETE", "/api/v1/links/\(revoked.serial)")
        #expect(r.status == 200)
        #expect(try r.json()["revoked"] as? Bool == true)
        // Never used, so no cached authorization: refused at once, and told why (Docs/links.md "Refused links").
        let refused = try app.send(.get(revoked.path))
        #expect(refused.status == 410)
        #expect(
            String(decoding: refused.body, as: UTF8.self)
                == "This download address was revoked: ask for a new download address.\n")
        #expect(try app.send(.get(kept.path)).status == 200)

        // Delete bumps the generation: links minted before stop working for new requests.
        #expect(try app.api("DELETE", "/api/v1/images/\(id)").status == 200)
        #expect(try app.send(.get(beforeDelete.path)).status == 404)
        // And no new link for an image in the recycle bin.
        let mint = try app.api("POST", "/api/v1/images/\(id)/links", json: [:])
        #expect(mint.status == 409)
        #expect(mint.errorCode == "conflict")
    }

    @Test("errors map to one status and JSON code each: 401, 400, 404, 405 with Allow, 415")
    func errorMapping() throws {
        let app = try AppFixture()
        defer { app.close() }
        let id = try app.importImage("errors", SeededRandom(seed: 24).bytes4k)

        let anonymous = try app.api("GET", "/api/v1/images", key: .some(nil))
        #expect(anonymous.status == 401)
        #expect(anonymous.errorCode == "unauthorized")
        #expect(anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        #expect(try app.api("GET", "/api/v1/images", key: "igk_not-a-real-key").status == 401)

        let unknownField = try app.api("PATCH", "/api/v1/images/\(id)", json: ["colour": "red"])
        #expect(unknownField.status == 400)
        #expect(unknownField.errorCode == "invalid_request")
        let badJSON = try app.send(
            RawRequest(
                "PATCH", "/api/v1/images/\(id)",
                headers: [
                    ("Authorization", "Bearer \(app.adminKey)"), ("Content-Type", "application/json"),
                ], body: Array("{not json".utf8)))
        #expect(badJSON.status == 400)
        #expect(badJSON.errorCode == "invalid_request")
        let badQuery = try app.api("GET", "/api/v1/images?sort=colour")
        #expect(badQuery.status == 400)

        let missing = try app.api("GET", "/api/v1/images/img-00000000000000000000000000000000")
        #expect(missing.status == 404)
        #expect(missing.errorCode == "not_found")
        #expect(try app.api("GET", "/api/v1/no-such-thing").errorCode == "not_found")

        let wrongMethod = try app.api("PUT", "/api/v1/images/\(id)", json: [:])
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "GET, PATCH, DELETE")

        let form = try app.send(
            RawRequest(
                "PATCH", "/api/v1/images/\(id)",
                headers: [
                    ("Authorization", "Bearer \(app.adminKey)"), ("Content-Type", "text/plain"),
                ], body: Array("{\"name\":\"x\"}".utf8)))
        #expect(form.status == 415)
        #expect(form.errorCode == "unsupported_media_type")
        // None of the refused requests changed the image.
        #expect(try app.api("GET", "/api/v1/images/\(id)").json()["name"] as? String == "errors")
    }
}

@Suite struct LocalAPITests {
    @Test("the CLI's in-process API gives the answers HTTP gives: the same list, the same error codes")
    func sameAnswersAsHTTP() throws {
        let app = try AppFixture()
        defer { app.close() }
        var random = SeededRandom(seed: 25)
        let kept = try app.importImage("local-kept", random.bytes(4096), tags: ["keep"])
        _ = try app.importImage("local-other", random.bytes(4096))

        let local = try app.localAPI("GET", "/api/v1/images", query: ["tag": "keep"])
        #expect(local.status == 200)
        let localIDs = (local.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(localIDs == [kept])
        #expect(localIDs == (try ManagementAPITests.ids(app.api("GET", "/api/v1/images?tag=keep"))))

        let renamed = try app.localAPI("PATCH", "/api/v1/images/\(kept)", json: ["name": "renamed-locally"])
        #expect(renamed.status == 200)
        #expect(try app.api("GET", "/api/v1/images/\(kept)").json()["name"] as? String == "renamed-locally")

        for (method, path, json) in [
            ("GET", "/api/v1/images/img-00000000000000000000000000000000", nil),
            ("PATCH", "/api/v1/images/\(kept)", ["colour": "red"]),
            ("PUT", "/api/v1/images/\(kept)", [:]),
        ] as [(String, String, [String: Any]?)] {
            let viaCLI = try app.localAPI(method, path, json: json)
            let viaHTTP = try app.api(method, path, json: json)
            #expect(viaCLI.status == viaHTTP.status, "\(method) \(path)")
            #expect((viaCLI.json["error"] as? [String: Any])?["code"] as? String == viaHTTP.errorCode)
            #expect(viaHTTP.errorCode != nil)
        }
    }
}

extension SeededRandom {
    /// 4 KiB of the sequence (an image small enough to import in a blink).
    var bytes4k: [UInt8] {
        var copy = self
        return copy.bytes(4096)
    }
}
