//===----------------------------------------------------------------------===//
// ImageGate: CatalogStore conformance, images: CRUD, ordering, update semantics, leases, closing.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Testing

@Suite struct ImageStoreConformanceTests {
    @Test(arguments: StoreKind.available) func crudRoundTrip(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let a = sampleRecord(name: "first", createdAt: 100)
        var b = sampleRecord(name: "second", status: .failed, createdAt: 50)
        b.failureReason = "boom"
        b.size = UInt64(Int64.max)  // the largest size a signed 64-bit column holds
        try store.insert(a)
        try store.insert(b)
        #expect(try store.image(a.id) == a)
        #expect(try store.image(b.id) == b)
        #expect(try store.image(ImageRecord.newID()) == nil)
        #expect(try store.images(tenant: nil) == [b, a])  // createdAt order
        #expect(try store.images(tenant: .defaultTenant).count == 2)
        #expect(try store.images(tenant: TenantID(ID128(high: 9, low: 9))).isEmpty)
        let duplicate = #expect(throws: GateError.self) { try store.insert(a) }
        #expect(duplicate?.code == .alreadyExists)
        var huge = sampleRecord()
        huge.size = UInt64(Int64.max) + 1
        let tooBig = #expect(throws: GateError.self) { try store.insert(huge) }
        #expect(tooBig?.code == .invalidRequest)
        #expect(try store.image(huge.id) == nil)
    }

    @Test(arguments: StoreKind.available) func everyFieldRoundTripsAndVMCountIsDerived(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        var r = sampleRecord()
        r.kind = .iso
        r.encrypted = true
        r.features = ["cloud-init", "qemu-ga"]
        r.systemType = "Kylin"
        r.osRelease = "CentOS 7.4 x86_64"
        r.platform = "p"
        r.osVersion = "7.4"
        r.architecture = "aarch64"
        r.bootMode = "UEFI"
        r.projectGroup = "ops"
        r.tags = ["a b", "生产"]
        r.virtualSize = 1 << 40
        r.statusBeforeDelete = .failed
        r.deletedAt = 5
        r.progressBytes = 10
        r.progressTotal = 20
        r.progressRate = 0.1 + 0.2  // not exactly representable in few digits: must come back bit for bit
        r.progressAt = 1_700_000_000
        try store.insert(r)
        #expect(try store.image(r.id) == r)
        try store.addVMReference(VMReference(vmID: "vm1", imageID: r.id, createdAt: 1)) { _ throws(GateError) in }
        #expect(try store.image(r.id)?.vmCount == 1)
        let updated = try store.update(r.id) { (x: inout ImageRecord) throws(GateError) in x.vmCount = 99 }
        #expect(updated.vmCount == 1)  // ignored on write
        var bad = sampleRecord()
        bad.tags = ["x\u{1F}y"]
        #expect(throws: GateError.self) { try store.insert(bad) }
        #expect(try store.image(bad.id) == nil)
    }

    @Test(arguments: StoreKind.available) func listOrderTiesBreakOnID(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let records = (0..<6).map { _ in sampleRecord(createdAt: 7) }
        for r in records { try store.insert(r) }
        #expect(try store.images(tenant: nil).map(\.id) == records.map(\.id).sorted())
        #expect(try store.images(tenant: .defaultTenant).map(\.id) == records.map(\.id).sorted())
    }

    @Test(arguments: StoreKind.available) func tenantFilter(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let other = TenantID(ID128(high: 1, low: 2))
        let mine = sampleRecord(name: "mine")
        let theirs = sampleRecord(name: "theirs", tenant: other)
        try store.insert(mine)
        try store.insert(theirs)
        #expect(try store.images(tenant: other) == [theirs])
        #expect(try store.images(tenant: .defaultTenant) == [mine])
    }

    @Test(arguments: StoreKind.available) func updateSemantics(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let clock = ManualClock(5000)
        let store = try catalog.open(clock: clock)
        let record = sampleRecord(createdAt: 100)
        try store.insert(record)

        clock.set(6000)
        let updated = try store.update(record.id) { r throws(GateError) in
            r.remarks = "new remarks"
            r.generation += 1
        }
        #expect(updated.remarks == "new remarks" && updated.generation == record.generation + 1)
        #expect(updated.updatedAt == 6000)  // stamped by the store
        #expect(try store.image(record.id) == updated)

        clock.set(7000)
        let same = try store.update(record.id) { _ throws(GateError) in }
        #expect(same == updated)  // a no-op change writes nothing: updatedAt stays
        #expect(try store.image(record.id)?.updatedAt == 6000)

        let err = #expect(throws: GateError.self) {
            try store.update(record.id) { r throws(GateError) in
                r.name = "half-done"
                throw .conflict("nope")
            }
        }
        #expect(err == GateError.conflict("nope"))  // rethrown unchanged, rolled back
        #expect(try store.image(record.id) == updated)

        let missing = #expect(throws: GateError.self) {
            try store.update(ImageRecord.newID()) { _ throws(GateError) in }
        }
        #expect(missing?.code == .notFound)
        let idChange = #expect(throws: GateError.self) {
            try store.update(record.id) { r throws(GateError) in r.id = ImageRecord.newID() }
        }
        #expect(idChange?.code == .invalidRequest)
        #expect(try store.image(record.id) == updated)
    }

    @Test(arguments: StoreKind.available) func leasesFollowTheImport(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let record = sampleRecord(status: .uploading)
        let first = ImportLease(holder: LeaseHolder(node: "n1", pid: 42, run: "r1"), heartbeat: 10)
        try store.insert(record, lease: first)
        var leases = try store.leases()
        #expect(leases.count == 1 && leases[0].0 == record.id && leases[0].1 == first)
        #expect(first.expiresAt == 10 + ImportLease.lifetime)
        let second = ImportLease(holder: LeaseHolder(node: "n2", pid: 43, run: "r2"), heartbeat: 20)
        try store.setLease(record.id, second)
        leases = try store.leases()
        #expect(leases.count == 1 && leases[0].1 == second)
        let missing = #expect(throws: GateError.self) { try store.setLease(ImageRecord.newID(), second) }
        #expect(missing?.code == .notFound)
        // Staying in progress keeps the lease; leaving the in-progress statuses releases it in the same step.
        _ = try store.update(record.id) { r throws(GateError) in r.status = .making }
        #expect(try store.leases().count == 1)
        _ = try store.update(record.id) { r throws(GateError) in r.status = .failed }
        #expect(try store.leases().isEmpty)
        // A failed insert leaves neither the row nor its lease.
        let duplicate = #expect(throws: GateError.self) { try store.insert(record, lease: first) }
        #expect(duplicate?.code == .alreadyExists)
        #expect(try store.leases().isEmpty)
    }

    @Test(arguments: StoreKind.available) func claimTakesOverOnlyWhatIsNotHeld(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let now: Int64 = 5_000
        let live = ImportLease(holder: LeaseHolder(node: "other", pid: 7, run: "a"), heartbeat: now)
        var held = sampleRecord(status: .uploading)
        held.finalizedAt = nil
        try store.insert(held, lease: live)
        let mine = ImportLease(holder: LeaseHolder(node: "me", pid: 1, run: "m"), heartbeat: now)
        #expect(try !store.claimLease(held.id, mine, unless: { $0.isLive(now: now) }))
        #expect(try store.leases().first?.1 == live)
        let later = now + ImportLease.lifetime + 1
        let taker = ImportLease(holder: LeaseHolder(node: "me", pid: 1, run: "m"), heartbeat: later)
        #expect(try store.claimLease(held.id, taker, unless: { $0.isLive(now: later) }))
        #expect(try store.leases().first?.1 == taker)
        // Not in progress any more: not claimable. Missing: notFound.
        _ = try store.update(held.id) { r throws(GateError) in r.status = .failed }
        #expect(try !store.claimLease(held.id, mine, unless: { _ in false }))
        let missing = #expect(throws: GateError.self) {
            try store.claimLease(ImageRecord.newID(), mine, unless: { _ in false })
        }
        #expect(missing?.code == .notFound)
    }

    @Test(arguments: StoreKind.available) func heartbeatRenewsOnlyTheHoldersLeases(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let me = LeaseHolder(node: "n1", pid: 5, run: "r")
        let other = ImportLease(holder: LeaseHolder(node: "n2", pid: 5, run: "r"), heartbeat: 100)
        var ids: [ImageID] = []
        for lease in [ImportLease(holder: me, heartbeat: 100), ImportLease(holder: me, heartbeat: 100), other] {
            let r = sampleRecord(status: .uploading)
            try store.insert(r, lease: lease)
            ids.append(r.id)
        }
        #expect(try store.renewLeases(of: me, heartbeat: 200, expiresAt: 230) == 2)
        // The holder is (node, run): a heartbeat naming another pid renews the same leases.
        #expect(
            try store.renewLeases(of: LeaseHolder(node: "n1", pid: 9, run: "r"), heartbeat: 200, expiresAt: 230) == 2)
        #expect(
            try store.renewLeases(of: LeaseHolder(node: "n1", pid: 5, run: "other"), heartbeat: 1, expiresAt: 1) == 0)
        let leases = Dictionary(try store.leases(), uniquingKeysWith: { x, _ in x })
        for id in ids.prefix(2) { #expect(leases[id]?.heartbeat == 200 && leases[id]?.expiresAt == 230) }
        #expect(leases[ids[2]] == other)
        #expect(try store.leases().map(\.0) == ids.sorted())  // ordered by image id
    }

    /// Two stores (processes, nodes) on one catalog and several threads claiming the same dead lease at
    /// once: exactly one claim wins.
    @Test(arguments: StoreKind.available) func concurrentClaimsHaveOneWinner(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let stores = [try catalog.open(), try catalog.open()]
        for round in 0..<5 {
            let record = sampleRecord(status: .uploading)
            try stores[0].insert(
                record, lease: ImportLease(holder: LeaseHolder(node: "dead", pid: 1, run: "x"), heartbeat: 0))
            let winners = Collected<Int>()
            try onThreads(8) { i in
                let claim = ImportLease(
                    holder: LeaseHolder(node: "n\(i)", pid: Int32(i), run: "r\(round)"), heartbeat: 1_000)
                // Held = any lease that is not the dead one.
                if try stores[i % 2].claimLease(record.id, claim, unless: { $0.holder.node != "dead" }) {
                    winners.append(i)
                }
            }
            #expect(winners.all.count == 1)
            let lease = try #require(try stores[1].leases().first { $0.0 == record.id }?.1)
            #expect(lease.holder.node == "n\(winners.all.first ?? -1)")
        }
    }

    @Test(arguments: StoreKind.available) func twoInstancesShareOneCatalog(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let server = try catalog.open()
        let cli = try catalog.open()
        let fromCLI = sampleRecord(name: "from cli")
        try cli.insert(fromCLI)
        #expect(try server.image(fromCLI.id) == fromCLI)
        let changed = try server.update(fromCLI.id) { r throws(GateError) in r.remarks = "server was here" }
        #expect(try cli.image(fromCLI.id) == changed)
        try server.revoke(serial: ID128(high: 1, low: 1), expiresAt: 2_000_000_000)
        #expect(try cli.isRevoked(serial: ID128(high: 1, low: 1)))
        cli.close()
        #expect(try server.images(tenant: nil).count == 1)
    }

    @Test(arguments: StoreKind.available) func closedStoreThrows(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        store.close()
        store.close()  // idempotent
        let err = #expect(throws: GateError.self) { try store.images(tenant: nil) }
        #expect(err == GateError.io("catalog is closed"))
        #expect(throws: GateError.self) { try store.insert(sampleRecord()) }
        #expect(throws: GateError.self) { try store.readinessProbe(timeoutMs: 1000) }
    }

    @Test(arguments: StoreKind.available) func metacharactersAndUnicodeRoundTrip(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let names = [
            "Robert'); DROP TABLE images;--", "\"quoted\" % _ * ? ?1 $1 :name @x $y", "Ubuntu 日本語 🚀 Ελληνικά",
            "e\u{301}cole (combining)", "back\\slash ' '' ;",
        ]
        for name in names {
            var record = sampleRecord(name: name)
            record.remarks = name + " / " + name
            record.failureReason = name
            try store.insert(record)
            let back = try #require(try store.image(record.id))
            #expect(back.name.unicodeScalars.elementsEqual(name.unicodeScalars))
            #expect(back == record)
        }
        #expect(try store.images(tenant: nil).count == names.count)
    }

    @Test(arguments: StoreKind.available) func healthAnswers(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        try store.readinessProbe(timeoutMs: 2000)
        #expect(try store.imageTotals().isEmpty)
        try store.insert(sampleRecord(size: 10))
        try store.insert(sampleRecord(size: 32))
        try store.insert(sampleRecord(status: .failed, size: 5))
        let totals = try store.imageTotals().sorted { $0.status < $1.status }
        #expect(totals.map(\.status) == ["available", "failed"])
        #expect(totals.map(\.images) == [2, 1] && totals.map(\.bytes) == [42, 5])
    }
}
