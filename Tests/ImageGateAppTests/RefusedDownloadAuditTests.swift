//===----------------------------------------------------------------------===//
// ImageGate: `download.refused` records are rate-limited per (serial, reason, address) (RefusedDownloadAudit).
//===----------------------------------------------------------------------===//
import DownloadTokens
import GateCore
import HTTPServer
import ImageCatalog
@testable import ImageGateApp
import Synchronization
import Testing

@Suite struct RefusedDownloadAuditTests {
    final class Written: Sendable {
        let rows = Mutex<[[String: String]]>([])
    }

    @Test("one record per key and window; another address, reason or serial is its own key")
    func window() {
        let written = Written()
        let audit = RefusedDownloadAudit { _, _, _, _, detail in written.rows.withLock { $0.append(detail) } }
        let claims = TokenClaims(
            tenant: .defaultTenant, image: ImageRecord.newID(), generation: 1, issuedAt: 0, expiresAt: 10,
            protocols: .http)
        let other = TokenClaims(
            tenant: .defaultTenant, image: claims.image, generation: 1, issuedAt: 0, expiresAt: 10, protocols: .http)
        let window = RefusedDownloadAudit.windowSeconds
        for t in [100, 101, 100 + window - 1] {
            audit.record(.expired, claims: claims, protocolName: "http", client: "127.0.0.1", now: Int64(t))
        }
        audit.record(.expired, claims: claims, protocolName: "ftp", client: "127.0.0.2", now: 102)
        audit.record(.revoked, claims: claims, protocolName: "http", client: "127.0.0.1", now: 102)
        audit.record(.expired, claims: other, protocolName: "http", client: "127.0.0.1", now: 102)
        audit.record(.expired, claims: claims, protocolName: "sftp", client: "127.0.0.1", now: 100 + window)
        let rows = written.rows.withLock { $0 }
        #expect(rows.count == 5)
        #expect(
            rows[0] == ["serial": claims.serial.hex, "reason": "expired", "protocol": "http", "client": "127.0.0.1"])
        #expect(rows.last?["protocol"] == "sftp")
    }

    @Test("the issue's protocol names for each front's required bits; address text for v4 and v6")
    func names() {
        #expect(DownloadAuthorizer.protocolName(.http) == "https")
        #expect(DownloadAuthorizer.protocolName([.http, .httpPlain]) == "http")
        #expect(DownloadAuthorizer.protocolName(.ftps) == "ftps")
        #expect(DownloadAuthorizer.protocolName([.ftps, .ftpPlain]) == "ftp")
        #expect(DownloadAuthorizer.protocolName(.sftp) == "sftp")
        #expect(RefusedDownloadAudit.addressText([127, 0, 0, 2]) == "127.0.0.2")
        #expect(
            RefusedDownloadAudit.addressText([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])
                == "2001:db8::1")
        #expect(RefusedDownloadAudit.addressText(nil) == "unknown")
    }

    @Test("the sentences and statuses the issue names")
    func sentences() {
        #expect(LinkRefusal.expired.sentence == "This download address has expired: ask for a new download address.")
        #expect(
            LinkRefusal.exhausted.sentence
                == "This download address has been used up: ask for a new download address.")
        #expect(LinkRefusal.allCases.map(\.httpStatus) == [410, 410, 410, 403])
    }

    @Test("each refusal's prebuilt answer has the fields and body Response.text made per request")
    func prebuiltRefusals() {
        for refusal in LinkRefusal.allCases {
            let made = Response.text(refusal.httpStatus, refusal.sentence, headers: [("Cache-Control", "no-store")])
            let prebuilt = DownloadHandler.refused(refusal, note: "token_expired")
            #expect(prebuilt.status == made.status)
            // The block is written where `headers` would be (after Date; no Content-Range on these answers).
            #expect(prebuilt.headers.isEmpty && prebuilt.contentRange == nil)
            #expect(prebuilt.headerBlock?.bytes == HeaderBlock(made.headers).bytes)
            #expect(prebuilt.body == made.body)
            #expect(prebuilt.note == "token_expired" && prebuilt.closeConnection == made.closeConnection)
        }
    }

    @Test("the denials told to the recipient, each with its refusal; every other denial stays uniform")
    func denials() {
        typealias Denial = DownloadAuthorizer.Denial
        #expect(Denial.token(.expired).linkRefusal == .expired)
        #expect(Denial.token(.addressNotAllowed).linkRefusal == .addressNotAllowed)
        #expect(Denial.revoked.linkRefusal == .revoked)
        #expect(Denial.exhausted.linkRefusal == .exhausted)
        for denial in [
            Denial.token(.badSignature), .imageGone, .wrongTenant, .notAvailable, .staleGeneration, .catalog,
        ] {
            #expect(denial.linkRefusal == nil)
        }
    }
}
