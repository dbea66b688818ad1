//===----------------------------------------------------------------------===//
// ImageGate: the audit API's time filters and readable details (AuditRoutes, AuditDetailText).
//===----------------------------------------------------------------------===//
import GateCore
@testable import ImageGateApp
import Testing

@Suite struct AuditTextTests {
    @Test("since/until: RFC 3339 UTC, a date (its whole day for until), Unix seconds; nothing else")
    func times() throws {
        #expect(try AuditRoutes.time("2026-12-07T13:00:00Z", "since", endOfDay: false) == 1_796_648_400)
        #expect(try AuditRoutes.time("2026-12-07", "since", endOfDay: false) == 1_796_601_600)
        #expect(try AuditRoutes.time("2026-12-07", "until", endOfDay: true) == 1_796_601_600 + 86_399)
        #expect(try AuditRoutes.time("1796648400", "since", endOfDay: false) == 1_796_648_400)
        for bad in [
            "yesterday", "-5", "+5", "2026-13-01", "2026-12-07T25:00:00Z", "2026-12-07T13:00:00+01:00",
            "1234567890123", "2026-12-7",
        ] {
            #expect(throws: GateError.self, "\(bad)") { try AuditRoutes.time(bad, "since", endOfDay: false) }
        }
    }

    @Test("details read as RFC 3339 times and protocol names; other keys unchanged")
    func details() {
        let readable = AuditDetailText.readable([
            "expires_at": "1796648400", "protocols": "23", "serial": "00ff", "bytes": "12",
        ])
        #expect(
            readable == [
                "expires_at": "2026-12-07T13:00:00Z", "protocols": "https,http,ftps,sftp", "serial": "00ff",
                "bytes": "12",
            ])
        #expect(AuditDetailText.protocolNames(0) == "none")
        #expect(AuditDetailText.protocolNames(1 << 3) == "ftp")
    }
}
