//===----------------------------------------------------------------------===//
// ImageGate: CatalogStore conformance: the hash-chained audit log, also with writers on several nodes.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Testing

@Suite struct AuditConformanceTests {
    private func draft(_ n: Int, tenant: TenantID? = .defaultTenant) -> AuditDraft {
        AuditDraft(
            time: Int64(n), actor: "actor-\(n)", actorTenant: nil, action: "x", target: "t", targetTenant: tenant,
            source: "s", outcome: "ok", detail: ["k": "v\"\n", "a": "ü", "n": String(n)])
    }

    /// Recomputes every hash from the genesis: the chain is one unbroken sequence 1...count.
    private func verifyChain(_ events: [AuditEvent]) {
        var previous = AuditEvent.genesisHash
        for (i, e) in events.enumerated() {
            #expect(e.seq == Int64(i + 1))
            #expect(e.hash == AuditEvent.chainHash(previous: previous, seq: e.seq, e.draft))
            previous = e.hash
        }
    }

    @Test(arguments: StoreKind.available) func chainNumbersHashesAndFilters(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let other = TenantID(ID128(high: 5, low: 5))
        let e1 = try store.appendAudit(draft(1))
        let e2 = try store.appendAudit(draft(2))
        var third = draft(3, tenant: nil)
        third.actorTenant = other
        let e3 = try store.appendAudit(third)
        #expect(e1.seq == 1 && e2.seq == 2 && e3.seq == 3)
        #expect(e1.hash == AuditEvent.chainHash(previous: AuditEvent.genesisHash, seq: 1, draft(1)))
        #expect(e2.hash == AuditEvent.chainHash(previous: e1.hash, seq: 2, draft(2)))
        let all = try store.auditEvents(tenant: nil, afterSeq: nil, limit: 10)
        #expect(all == [e1, e2, e3])  // details decode back exactly
        verifyChain(all)
        #expect(try store.auditEvents(tenant: .defaultTenant, afterSeq: 1, limit: 10) == [e2])
        #expect(try store.auditEvents(tenant: other, afterSeq: nil, limit: 10) == [e3])  // actor's tenant counts
        #expect(try store.auditEvents(tenant: TenantID(ID128(high: 6, low: 6)), afterSeq: nil, limit: 10).isEmpty)
        #expect(try store.auditEvents(tenant: nil, afterSeq: 0, limit: 2) == [e1, e2])
        #expect(try store.auditEvents(tenant: nil, afterSeq: nil, limit: 0).isEmpty)
    }

    /// The audit page's filters: action, actor, image and serial (target or detail key), time range, tenant,
    /// both directions with paging by seq.
    @Test(arguments: StoreKind.available) func queryFilters(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let other = TenantID(ID128(high: 5, low: 5))
        let image = "img-" + String(repeating: "a", count: 32)
        let serial = String(repeating: "b", count: 32)
        func add(
            _ time: Int64, _ action: String, actor: String, target: String, tenant: TenantID? = .defaultTenant,
            _ detail: [String: String] = [:]
        ) throws -> AuditEvent {
            try store.appendAudit(
                AuditDraft(
                    time: time, actor: actor, actorTenant: nil, action: action, target: target, targetTenant: tenant,
                    source: "s", outcome: "ok", detail: detail))
        }
        let minted = try add(10, "link.mint", actor: "acc-1", target: image, ["serial": serial])
        let refused = try add(20, "download.refused", actor: "anonymous", target: image, ["serial": serial])
        let revoked = try add(30, "link.revoke", actor: "acc-2", target: serial, ["image": image])
        let elsewhere = try add(40, "download.refused", actor: "anonymous", target: "img-x", tenant: other)
        func q(_ f: (inout AuditQuery) -> Void) throws -> [AuditEvent] {
            var query = AuditQuery(limit: 10)
            f(&query)
            return try store.auditEvents(query)
        }
        #expect(try q { _ in } == [minted, refused, revoked, elsewhere])
        #expect(try q { $0.action = "download.refused" } == [refused, elsewhere])
        #expect(try q { $0.actor = "acc-2" } == [revoked])
        #expect(try q { $0.image = image } == [minted, refused, revoked])  // revoke names it in its detail
        #expect(try q { $0.serial = serial } == [minted, refused, revoked])
        #expect(
            try q {
                $0.since = 20
                $0.until = 30
            } == [refused, revoked])
        #expect(try q { $0.tenant = other } == [elsewhere])
        #expect(
            try q {
                $0.action = "download.refused"
                $0.tenant = .defaultTenant
            } == [refused])
        #expect(
            try q {
                $0.newestFirst = true
                $0.limit = 2
            } == [elsewhere, revoked])
        #expect(
            try q {
                $0.newestFirst = true
                $0.beforeSeq = revoked.seq
            } == [refused, minted])
        #expect(
            try q {
                $0.afterSeq = minted.seq
                $0.limit = 1
            } == [refused])
        #expect(try q { $0.action = "no.such" }.isEmpty)
    }

    /// Writers on several threads of two stores (two nodes) append at once: the result is one valid chain
    /// with no gap and no fork.
    @Test(arguments: StoreKind.available) func concurrentWritersKeepOneChain(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let stores = [try catalog.open(), try catalog.open()]
        let perThread = 12
        let threads = 6
        let returned = Collected<AuditEvent>()
        try onThreads(threads) { t in
            for i in 0..<perThread { returned.append(try stores[t % 2].appendAudit(draft(t * 1000 + i))) }
        }
        let events = try stores[0].auditEvents(tenant: nil, afterSeq: nil, limit: 1000)
        #expect(events.count == threads * perThread)
        verifyChain(events)
        // What each writer was told is what the log holds.
        #expect(returned.all.sorted { $0.seq < $1.seq } == events)
    }
}
