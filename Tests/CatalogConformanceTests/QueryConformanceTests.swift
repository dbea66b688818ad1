//===----------------------------------------------------------------------===//
// ImageGate: CatalogStore conformance: the image list query, removal with its cascade, VM references.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Testing

@Suite struct QueryConformanceTests {
    /// A small catalog with names, sizes, statuses, kinds, tags and tenants chosen to exercise every filter.
    private func seeded(_ store: any CatalogStore) throws -> [ImageRecord] {
        let other = TenantID(ID128(high: 3, low: 3))
        var rows: [ImageRecord] = []
        func add(
            _ name: String, _ status: ImageStatus = .available, created: Int64, size: UInt64,
            tenant: TenantID = .defaultTenant, _ edit: (inout ImageRecord) -> Void = { _ in }
        ) throws {
            var r = sampleRecord(name: name, tenant: tenant, status: status, createdAt: created, size: size)
            r.updatedAt = 10_000 - created
            edit(&r)
            try store.insert(r)
            rows.append(r)
        }
        try add("alpha", created: 10, size: 300) {
            $0.tags = ["prod", "web"]
            $0.systemType = "Linux"
            $0.architecture = "x86_64"
        }
        try add("Beta", created: 20, size: 100) {
            $0.tags = ["prod-old"]
            $0.systemType = "linux"
            $0.architecture = "AARCH64"
        }
        try add("beta", created: 20, size: 100) {
            $0.kind = .iso
            $0.systemType = "Windows"
        }
        try add("_under", .failed, created: 30, size: 200)
        try add("gamma 100%", .deleted, created: 40, size: 50)
        try add("delta", .uploading, created: 50, size: 0, tenant: other) { $0.tags = ["prod"] }
        try add("Épsilon", created: 60, size: 100)
        return rows
    }

    private func names(_ page: ImagePage) -> [String] { page.items.map(\.name) }

    @Test(arguments: StoreKind.available) func filtersAndDefaults(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let rows = try seeded(store)
        var q = ImageQuery()
        q.sort = .createdAt
        q.descending = false
        let all = try store.queryImages(q)
        #expect(all.total == 6)  // every status but deleted
        #expect(!names(all).contains("gamma 100%"))
        q.statuses = [.deleted]
        #expect(names(try store.queryImages(q)) == ["gamma 100%"])
        q.statuses = [.failed, .uploading]
        #expect(Set(names(try store.queryImages(q))) == ["_under", "delta"])
        q.statuses = nil
        q.tenant = .defaultTenant
        #expect(try store.queryImages(q).total == 5)
        q.tenant = nil
        q.kind = .iso
        #expect(names(try store.queryImages(q)) == ["beta"])
        q.kind = nil
        q.systemType = "LINUX"  // ASCII case-insensitive exact match
        #expect(Set(names(try store.queryImages(q))) == ["alpha", "Beta"])
        q.systemType = "lin"
        #expect(try store.queryImages(q).total == 0)
        q.systemType = nil
        q.architecture = "aarch64"
        #expect(names(try store.queryImages(q)) == ["Beta"])
        q.architecture = nil
        q.tag = "prod"  // exactly this tag, not a prefix of another
        #expect(Set(names(try store.queryImages(q))) == ["alpha", "delta"])
        q.tag = "pro"
        #expect(try store.queryImages(q).total == 0)
        q.tag = nil
        q.search = "BETA"  // name substring, ASCII case-insensitive
        #expect(Set(names(try store.queryImages(q))) == ["Beta", "beta"])
        q.search = "_"  // literal, not a LIKE wildcard
        #expect(names(try store.queryImages(q)) == ["_under"])
        q.search = "%"
        q.statuses = ImageStatus.allCases
        #expect(names(try store.queryImages(q)) == ["gamma 100%"])
        q.search = "épsilon"  // only ASCII letters fold: É does not match é
        #expect(try store.queryImages(q).total == 0)
        q.search = "Épsilon"
        #expect(try store.queryImages(q).total == 1)
        q.search = String(rows[0].id.description.dropFirst(4).prefix(12))  // part of the id
        #expect(try store.queryImages(q).items.map(\.id) == [rows[0].id])
        q.search = nil
        q.tenant = .defaultTenant
        q.tag = "prod"
        q.statuses = nil
        #expect(names(try store.queryImages(q)) == ["alpha"])  // filters are ANDed
    }

    @Test(arguments: StoreKind.available) func sortingBreaksTiesOnIDInTheSameDirection(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let rows = try seeded(store).filter { $0.status != .deleted }
        func expected(_ key: (ImageRecord, ImageRecord) -> Bool?, descending: Bool) -> [ImageID] {
            rows.sorted { a, b in
                if let less = key(a, b) { return descending ? !less : less }
                return descending ? a.id > b.id : a.id < b.id
            }.map(\.id)
        }
        func compare<T: Comparable>(_ f: @escaping (ImageRecord) -> T) -> (ImageRecord, ImageRecord) -> Bool? {
            { a, b in f(a) == f(b) ? nil : f(a) < f(b) }
        }
        // SQLite's NOCASE: ASCII letters folded, then byte order.
        let asciiLower: (ImageRecord) -> [UInt8] = { r in
            r.name.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }
        }
        let keys: [(ImageSort, (ImageRecord, ImageRecord) -> Bool?)] = [
            (
                .name,
                { a, b in asciiLower(a) == asciiLower(b) ? nil : asciiLower(a).lexicographicallyPrecedes(asciiLower(b))
                }
            ),
            (.createdAt, compare(\.createdAt)), (.updatedAt, compare(\.updatedAt)), (.size, compare(\.size)),
            (.status, compare(\.status.rawValue)),
        ]
        for (sort, key) in keys {
            for descending in [false, true] {
                var q = ImageQuery()
                q.sort = sort
                q.descending = descending
                let got = try store.queryImages(q).items.map(\.id)
                #expect(got == expected(key, descending: descending), "sort \(sort) descending \(descending)")
            }
        }
    }

    @Test(arguments: StoreKind.available) func pagesAreStableAndCounted(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let records = (0..<7).map { i in sampleRecord(name: "same", createdAt: Int64(i % 2), size: 5) }
        for r in records { try store.insert(r) }
        var q = ImageQuery()
        q.sort = .size  // every row ties: the id alone orders them
        q.descending = false
        q.limit = 3
        var seen: [ImageID] = []
        for offset in stride(from: 0, to: 9, by: 3) {
            q.offset = offset
            let page = try store.queryImages(q)
            #expect(page.total == 7 && page.offset == offset && page.limit == 3)
            seen += page.items.map(\.id)
        }
        #expect(seen == records.map(\.id).sorted())
        q.limit = 0
        #expect(throws: GateError.self) { try store.queryImages(q) }
        q.limit = ImageQuery.maxLimit + 1
        #expect(throws: GateError.self) { try store.queryImages(q) }
        q.limit = 1
        q.offset = -1
        #expect(throws: GateError.self) { try store.queryImages(q) }
    }

    @Test(arguments: StoreKind.available) func removeImageCascadesAndKeepsHistory(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let record = sampleRecord(status: .uploading)
        try store.insert(record, lease: ImportLease(holder: LeaseHolder(node: "n", pid: 1, run: "r"), heartbeat: 1))
        try store.addVMReference(VMReference(vmID: "vm-1", imageID: record.id, createdAt: 1)) { _ throws(GateError) in }
        try store.saveImportJob(
            ImportJob(imageID: record.id, source: .upload, declared: "raw", uploadID: "up-1", createdAt: 1))
        let issue = TokenIssue(
            serial: ID128(high: 7, low: 7), image: record.id, tenant: .defaultTenant, issuedAt: 1, expiresAt: 2,
            protocols: 1, minter: "m")
        try store.recordTokenIssue(issue)
        try store.appendAudit(
            AuditDraft(
                time: 1, actor: "a", actorTenant: nil, action: "image.create", target: record.id.description,
                targetTenant: .defaultTenant, source: "s", outcome: "ok", detail: [:]))

        // A refusing check removes nothing and its error comes back unchanged.
        let refused = #expect(throws: GateError.self) {
            try store.removeImage(record.id) { _ throws(GateError) in throw .conflict("in use") }
        }
        #expect(refused == GateError.conflict("in use"))
        #expect(try store.image(record.id) != nil)

        var checked: ImageRecord?
        let removed = try store.removeImage(record.id) { r throws(GateError) in checked = r }
        #expect(removed.id == record.id && removed.vmCount == 1 && checked == removed)
        #expect(try store.image(record.id) == nil)
        #expect(try store.leases().isEmpty)
        #expect(try store.vmReferences(image: record.id).isEmpty)
        #expect(try store.importJob(image: record.id) == nil)
        #expect(try store.tokenIssue(serial: issue.serial) == issue)  // kept on purpose
        #expect(try store.auditEvents(tenant: nil, afterSeq: nil, limit: 10).count == 1)
        let missing = #expect(throws: GateError.self) { try store.removeImage(record.id) { _ throws(GateError) in } }
        #expect(missing?.code == .notFound)
    }

    @Test(arguments: StoreKind.available) func vmReferences(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let record = sampleRecord()
        try store.insert(record)
        for (vm, at) in [("vm-b", 5), ("vm-a", 5), ("vm-c", 1)] {
            try store.addVMReference(VMReference(vmID: vm, imageID: record.id, createdAt: Int64(at))) {
                _ throws(GateError) in
            }
        }
        #expect(try store.vmReferences(image: record.id).map(\.vmID) == ["vm-c", "vm-a", "vm-b"])  // createdAt, vm id
        #expect(try store.image(record.id)?.vmCount == 3)
        let duplicate = #expect(throws: GateError.self) {
            try store.addVMReference(VMReference(vmID: "vm-a", imageID: record.id, createdAt: 9)) {
                _ throws(GateError) in
            }
        }
        #expect(duplicate?.code == .alreadyExists)
        let refused = #expect(throws: GateError.self) {
            try store.addVMReference(VMReference(vmID: "vm-z", imageID: record.id, createdAt: 9)) {
                r throws(GateError) in
                throw .conflict("image is \(r.status.rawValue)")
            }
        }
        #expect(refused == GateError.conflict("image is available"))
        let missing = #expect(throws: GateError.self) {
            try store.addVMReference(VMReference(vmID: "vm", imageID: ImageRecord.newID(), createdAt: 1)) {
                _ throws(GateError) in
            }
        }
        #expect(missing?.code == .notFound)
        #expect(try store.removeVMReference(image: record.id, vmID: "vm-a"))
        #expect(try !store.removeVMReference(image: record.id, vmID: "vm-a"))
        #expect(try store.vmReferences(image: record.id).map(\.vmID) == ["vm-c", "vm-b"])
    }
}
