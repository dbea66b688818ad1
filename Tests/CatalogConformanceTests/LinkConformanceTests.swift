//===----------------------------------------------------------------------===//
// ImageGate: CatalogStore conformance: link records (options, usage, revocation time) and the inventory query.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Testing

@Suite struct LinkConformanceTests {
    private let imageA = ImageID(ID128(high: 0xA, low: 1))
    private let imageB = ImageID(ID128(high: 0xA, low: 2))
    private let otherTenant = TenantID(ID128(high: 0xBB, low: 1))

    private func issue(
        _ n: UInt64, image: ImageID, tenant: TenantID = .defaultTenant, issuedAt: Int64,
        expiresAt: Int64 = 2_000, minter: String = "acct-1", options: LinkOptions = LinkOptions()
    ) -> TokenIssue {
        TokenIssue(
            serial: ID128(high: 7, low: n), image: image, tenant: tenant, issuedAt: issuedAt, expiresAt: expiresAt,
            protocols: 0b11, minter: minter, fileName: "disk.qcow2", options: options)
    }

    @Test(arguments: StoreKind.available) func optionsRoundTripAndUsageAddsUp(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let options = LinkOptions(
            protocols: ["https", "sftp"], allowedIPs: ["127.0.0.1/32", "2001:db8::/32"], maxDownloads: 2,
            imageSize: 10 << 20, label: "migration, batch 1")
        let link = issue(1, image: imageA, issuedAt: 100, options: options)
        try store.recordTokenIssue(link)
        #expect(try store.tokenIssue(serial: link.serial) == link)
        // Two nodes report for the same link: the counters add up, the last client is the last report's.
        let other = try catalog.open()
        try store.recordLinkUse(
            LinkUse(serial: link.serial, newSessions: 1, bytes: 4 << 20, client: "127.0.0.1", at: 150))
        try other.recordLinkUse(
            LinkUse(serial: link.serial, newSessions: 1, bytes: 6 << 20, client: "127.0.0.2", at: 160))
        try store.recordLinkUse(LinkUse(serial: link.serial, newSessions: 0, bytes: 1, client: "127.0.0.3", at: 155))
        let used = try #require(try other.tokenIssue(serial: link.serial))
        #expect(
            used.usage == LinkUsage(sessions: 2, bytesServed: (10 << 20) + 1, lastClient: "127.0.0.3", lastUsedAt: 160))
        #expect(used.completedDownloads == 1)
        // An unknown serial changes nothing and is no error.
        #expect(
            try store.recordLinkUse(
                LinkUse(serial: ID128(high: 9, low: 9), newSessions: 1, bytes: 1, client: "x", at: 1)) == nil)
    }

    @Test(arguments: StoreKind.available) func eachReportSeesItsOwnTransitions(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let size: Int64 = 1 << 20
        let link = issue(1, image: imageA, issuedAt: 100, options: LinkOptions(maxDownloads: 1, imageSize: size))
        try store.recordTokenIssue(link)
        let allowance = try #require(link.options.byteAllowance)
        func report(_ sessions: Int64, _ bytes: Int64) throws -> [LinkUseEvent] {
            let use = LinkUse(serial: link.serial, newSessions: sessions, bytes: bytes, client: "127.0.0.1", at: 200)
            let after = try #require(try store.recordLinkUse(use))
            #expect(after.serial == link.serial)
            return LinkUseEvent.transitions(after: after, use: use, protocolName: "https")
        }
        // The first report is the first use (a report during a session counts: it has bytes).
        let first = try report(0, 4 << 20)
        #expect(first.count == 1)
        if case .firstUse(_, let name, let client) = first[0] {
            #expect(name == "https" && client == "127.0.0.1")
        } else {
            Issue.record("expected first use, got \(first)")
        }
        #expect(try report(1, 1).isEmpty)
        // The report that crosses the allowance, and only that one, says exhausted.
        let crossing = try report(1, allowance)
        #expect(crossing.count == 1)
        if case .exhausted(_, let served, let limit) = crossing[0] {
            #expect(limit == allowance && served >= allowance)
        } else {
            Issue.record("expected exhausted, got \(crossing)")
        }
        #expect(try report(1, 5).isEmpty)
    }

    @Test func allowanceIsNTimesSizeTimes1Point1Plus16MiB() {
        #expect(LinkOptions(maxDownloads: 3, imageSize: 100 << 20).byteAllowance == 330 << 20 + 16 << 20)
        #expect(LinkOptions(maxDownloads: nil, imageSize: 100).byteAllowance == nil)
        #expect(LinkOptions(maxDownloads: 1_000_000, imageSize: Int64.max / 2).byteAllowance == Int64.max)
    }

    @Test(arguments: StoreKind.available) func statesFiltersAndPaging(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let clock = ManualClock(1_000)
        let store = try catalog.open(clock: clock)
        let limited = LinkOptions(maxDownloads: 1, imageSize: 1 << 20)
        let links = [
            issue(1, image: imageA, issuedAt: 10),  // active
            issue(2, image: imageA, issuedAt: 20, expiresAt: 500),  // expired
            issue(3, image: imageA, issuedAt: 30, options: limited),  // exhausted below
            issue(4, image: imageB, issuedAt: 40, minter: "acct-2"),  // revoked below
            issue(5, image: imageB, tenant: otherTenant, issuedAt: 50),  // active, other tenant
        ]
        for l in links { try store.recordTokenIssue(l) }
        try store.recordLinkUse(
            LinkUse(
                serial: links[2].serial, newSessions: 1, bytes: (1 << 20) + (1 << 20) / 10 + (16 << 20), client: "c",
                at: 900))
        try store.revoke(serial: links[3].serial, expiresAt: links[3].expiresAt)
        clock.set(1_100)
        try store.revoke(serial: links[3].serial, expiresAt: links[3].expiresAt)  // keeps the first time
        #expect(try store.tokenIssue(serial: links[3].serial)?.revokedAt == 1_000)
        func serials(_ q: LinkQuery) throws -> [UInt64] { try store.links(q).map(\.serial.low) }
        #expect(try serials(LinkQuery(now: 1_000)) == [5, 4, 3, 2, 1])  // newest first
        #expect(try serials(LinkQuery(state: .active, now: 1_000)) == [5, 1])
        #expect(try serials(LinkQuery(state: .expired, now: 1_000)) == [2])
        #expect(try serials(LinkQuery(state: .exhausted, now: 1_000)) == [3])
        #expect(try serials(LinkQuery(state: .revoked, now: 1_000)) == [4])
        #expect(try serials(LinkQuery(image: imageA, now: 1_000)) == [3, 2, 1])
        #expect(try serials(LinkQuery(tenant: otherTenant, now: 1_000)) == [5])
        #expect(try serials(LinkQuery(minter: "acct-2", now: 1_000)) == [4])
        #expect(try serials(LinkQuery(now: 1_000, limit: 2, offset: 1)) == [4, 3])
        let states = try store.links(LinkQuery(now: 1_000)).map { $0.state(now: 1_000) }
        #expect(states == [.active, .revoked, .exhausted, .expired, .active])
    }
}
