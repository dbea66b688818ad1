//===----------------------------------------------------------------------===//
// ImageGate: image list filters, sort and paging; hostile input that must change nothing.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog
import ImageManagement
import SQLiteCatalog
import Testing

@Suite struct QueryTests {
    @Test func filtersSortAndPaging() throws {
        let w = try World()
        let a = try w.image(w.tenantA, name: "Alpha", size: 30, createdAt: 10, tags: ["prod", "web"])
        let b = try w.image(w.tenantA, name: "beta", size: 10, createdAt: 20, tags: ["dev"], systemType: "Windows")
        let c = try w.image(
            w.tenantA, name: "Gamma 100%", size: 20, createdAt: 30, architecture: "aarch64",
            kind: .iso)
        let failed = try w.image(w.tenantA, name: "delta", status: .failed, createdAt: 40)
        var q = ImageQuery()
        #expect(try w.service.listImages(w.ownerA, q).items.map(\.id) == [failed.id, c.id, b.id, a.id])
        q.sort = .name
        q.descending = false
        #expect(try w.service.listImages(w.ownerA, q).items.map(\.id) == [a.id, b.id, failed.id, c.id])
        q.sort = .size
        q.limit = 2
        q.offset = 1
        let page = try w.service.listImages(w.ownerA, q)
        #expect(page.total == 4 && page.items.map(\.id) == [failed.id, c.id] && page.offset == 1 && page.limit == 2)
        func ids(_ change: (inout ImageQuery) -> Void) throws -> [ImageID] {
            var q = ImageQuery()
            q.sort = .createdAt
            q.descending = false
            change(&q)
            return try w.service.listImages(w.ownerA, q).items.map(\.id)
        }
        #expect(try ids { $0.tag = "web" } == [a.id])
        #expect(try ids { $0.tag = "we" } == [])
        #expect(try ids { $0.systemType = "windows" } == [b.id])
        #expect(try ids { $0.architecture = "aarch64" } == [c.id])
        #expect(try ids { $0.kind = .iso } == [c.id])
        #expect(try ids { $0.statuses = [.failed] } == [failed.id])
        #expect(try ids { $0.search = "ALP" } == [a.id])
        #expect(try ids { $0.search = "%" } == [c.id])  // literal, not a wildcard
        #expect(try ids { $0.search = "_" } == [])
        #expect(try ids { $0.search = String(b.id.description.suffix(10)) } == [b.id])
        for bad in [0, 501] {
            #expect(
                code { () throws(GateError) in
                    try w.service.listImages(
                        w.ownerA,
                        {
                            var q = ImageQuery()
                            q.limit = bad
                            return q
                        }())
                }
                    == .invalidRequest)
        }
    }

    @Test(arguments: [
        "' OR 1=1 --", "\"; DROP TABLE images; --", "x') UNION SELECT * FROM api_keys --", "%%", "\\", "日本語",
        "🚀", "ten-00000000000000000000000000000002",
    ])
    func injectionAttemptsMatchNothing(_ text: String) throws {
        let w = try World()
        try w.image(w.tenantA, name: "plain")
        try w.image(w.tenantB, name: "other")
        for apply in [{ (q: inout ImageQuery) in q.search = text }, { $0.tag = text }, { $0.systemType = text }] {
            var q = ImageQuery()
            apply(&q)
            let page = try w.service.listImages(w.ownerA, q)
            #expect(page.items.isEmpty && page.total == 0)
        }
        #expect(try w.store.images(tenant: nil).count == 2)
    }

    @Test func unicodeNamesAreSearchable() throws {
        let w = try World()
        let img = try w.image(w.tenantA, name: "Ubuntu 日本語 🚀")
        var q = ImageQuery()
        q.search = "日本"
        #expect(try w.service.listImages(w.ownerA, q).items.map(\.id) == [img.id])
    }
}

@Suite struct HostileInputTests {
    static let badNames: [String] = [
        "", "   ", "a\u{0}b", "line\nbreak", "tab\there", "esc\u{1B}[31m", "bell\u{7}",
        String(repeating: "x", count: 10_000),
        "sep\u{2028}x",
    ]

    @Test(arguments: badNames)
    func badNamesAreRefusedAndChangeNothing(_ name: String) throws {
        let w = try World()
        let img = try w.image(w.tenantA)
        let before = try w.eventCount()
        #expect(
            code { () throws(GateError) in
                try w.service.updateImage(w.ownerA, img.id, ImagePatch(name: name), source: "t")
            }
                == .invalidRequest)
        #expect(try w.store.image(img.id) == img)
        #expect(try w.eventCount() == before)
    }

    @Test(arguments: [
        "../../etc/passwd", "/etc/shadow", "..", "C:\\Windows\\system32", "a/b/../../c",
        "Robert'); DROP TABLE images;--",
    ])
    func pathLikeAndSQLNamesAreStoredAsData(_ name: String) throws {
        let w = try World()
        let img = try w.image(w.tenantA)
        let r = try w.service.updateImage(w.ownerA, img.id, ImagePatch(name: name), source: "t")
        #expect(r.name == name)
        #expect(!r.fileName.contains("/") && !r.fileName.contains("\\") && r.fileName != "..")
        #expect(try w.store.image(img.id)?.name == name)
        // The bytes stay where the id says, whatever the name.
        #expect(FileManager.default.fileExists(atPath: w.blobs.path(for: img.id)))
        #expect(try w.store.images(tenant: nil).count == 1)
    }

    @Test func otherFieldsAreValidated() throws {
        let w = try World()
        let img = try w.image(w.tenantA)
        let bad: [ImagePatch] = [
            ImagePatch(remarks: String(repeating: "r", count: 1025)),
            ImagePatch(remarks: "ctl\u{1}"),
            ImagePatch(remarks: "bidi \u{202E}gpj.exe"),
            ImagePatch(tags: [""]),
            ImagePatch(tags: ["a/b"]),
            ImagePatch(tags: [String(repeating: "t", count: 65)]),
            ImagePatch(tags: (0..<21).map { "t\($0)" }),
            ImagePatch(projectGroup: String(repeating: "g", count: 129)),
        ]
        for patch in bad {
            #expect(
                code { () throws(GateError) in try w.service.updateImage(w.ownerA, img.id, patch, source: "t") }
                    == .invalidRequest, "\(patch)")
        }
        #expect(try w.store.image(img.id) == img)
        let ok = try w.service.updateImage(
            w.ownerA, img.id,
            ImagePatch(remarks: "line one\nline two", tags: ["生产", "web", "web", "v1.2:x-y"], projectGroup: "ops"),
            source: "t")
        #expect(ok.tags == ["生产", "web", "v1.2:x-y"] && ok.remarks == "line one\nline two" && ok.projectGroup == "ops")
        #expect(
            code { () throws(GateError) in
                try w.service.createAccount(w.ownerA, tenant: nil, name: "a\u{0}", permission: .view, source: "t")
            }
                == .invalidRequest)
        #expect(
            code { () throws(GateError) in
                try w.service.createTenant(w.admin, name: String(repeating: "n", count: 200), source: "t")
            }
                == .invalidRequest)
    }
}
