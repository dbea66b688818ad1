//===----------------------------------------------------------------------===//
// ImageGate: tokens anywhere in a logged line are replaced by their labels (issue #11 item 18).
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import Testing
@testable import DownloadTokens

@Suite struct LineRedactionTests {
    @Test(arguments: [
        "/D/%@/disk.img", "/d/../d/%@/disk.img", "/%@", "/console/%@", "/d/%@/", "GET /x?t=%@ HTTP/1.1",
        "{\"path\":\"/api/%@\",\"note\":\"%@\"}", "user=%@", "%@ %@",
    ])
    func everyPlaceOfATokenIsRedacted(_ template: String) {
        let token = Fixture.token()
        let line = template.replacingOccurrences(of: "%@", with: token)
        let out = TokenRedaction.redactTokens(in: line)
        let tag = String(token.split(separator: ".")[2])
        #expect(!out.contains(tag.prefix(12)))
        #expect(!out.contains(String(token.split(separator: ".")[1].prefix(30))))
        #expect(out.contains("igt1.01020304.deadbeef…"))
    }

    @Test func upperCaseAndPercentEncodedDotsAreRedactedToo() {
        let token = Fixture.token()
        let shouted = "IGT1" + token.dropFirst(4)
        let encoded = token.replacingOccurrences(of: ".", with: "%2E")
        for line in ["/d/\(shouted)/f", "/d/\(encoded)/f"] {
            let out = TokenRedaction.redactTokens(in: line)
            #expect(!out.contains(String(token.split(separator: ".")[2].prefix(12))), "\(out)")
            #expect(out.hasSuffix("/f"))
        }
    }

    @Test func labelsAndOrdinaryTextAreLeftAlone() {
        let label = "{\"user\":\"igt1.01020304.deadbeef…\",\"path\":\"/igt1.?…\"}"
        #expect(TokenRedaction.redactTokens(in: label) == label)
        #expect(TokenRedaction.redactTokens(in: "/d/x/disk.img") == "/d/x/disk.img")
        #expect(TokenRedaction.redactTokens(in: "ünïcode igt1.short") == "ünïcode igt1.short")
        let token = Fixture.token()
        let once = TokenRedaction.redactTokens(in: "/d/\(token)/f")
        #expect(TokenRedaction.redactTokens(in: once) == once)
    }

    @Test func aLongForgedTokenIsRedactedAsWell() {
        let forged = "igt1." + String(repeating: "A", count: 120) + ".bbbbbbbbbbbbbbbbbbbb"
        #expect(TokenRedaction.redactTokens(in: "/\(forged)") == "/igt1.?…")
    }
}
