//===----------------------------------------------------------------------===//
// ImageGate: UsageReporter (a link's usage every 64 MiB and at the end) and the LinkRefusal sentences.
//===----------------------------------------------------------------------===//
import GateCore
import Testing

@Suite struct UsageReporterTests {
    @Test func reportsEvery64MiBThenTheRest() {
        let mib: UInt64 = 1 << 20
        var r = UsageReporter()
        #expect(r.due(total: 63 * mib) == nil)
        #expect(r.due(total: 64 * mib) == 64 * mib)
        #expect(r.due(total: 100 * mib) == nil)
        #expect(r.due(total: 200 * mib) == 136 * mib)
        #expect(r.rest(total: 210 * mib) == 10 * mib)
        #expect(r.rest(total: 210 * mib) == 0)
        var fresh = UsageReporter()
        #expect(fresh.rest(total: 5) == 5)
    }

    @Test func refusalSentencesAndStatuses() {
        #expect(
            LinkRefusal.exhausted.sentence == "This download address has been used up: ask for a new download address.")
        #expect(LinkRefusal.addressNotAllowed.httpStatus == 403)
        #expect(LinkRefusal.allCases.filter { $0.httpStatus == 410 }.count == 3)
        #expect(LinkRefusal.allCases.allSatisfy { $0.sentence.hasSuffix(": ask for a new download address.") })
    }
}
