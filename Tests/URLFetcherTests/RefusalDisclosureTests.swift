//===----------------------------------------------------------------------===//
// ImageGate: a refused destination does not tell the tenant what address a name resolves to (issue #11
// item 20); the address and the rule go to the server log only.
//===----------------------------------------------------------------------===//
import Testing
@testable import URLFetcher

@Suite struct RefusalDisclosureTests {
    @Test("an internal name's address is in logDetail, never in the tenant's message")
    func internalNameIsNotResolvedForTheTenant() {
        let got = Fetch.run("http://localhost:1/disk.img", policy: FetchPolicy())
        let f = got.failure
        #expect(f?.code == "destination_not_allowed", "\(String(describing: f))")
        let message = f?.message ?? ""
        #expect(message.contains("destination not allowed"))
        let described = f.map { String(describing: $0) } ?? ""
        for leak in ["127.0.0.1", "::1", "blocked range", "127.0.0.0/8", "::/96"] {
            #expect(!message.contains(leak), "\(message)")
            #expect(!described.contains(leak))
        }
        let detail = f?.logDetail ?? ""
        #expect(detail.contains("127.0.0.1") || detail.contains("::1"), "\(detail)")
    }

    @Test("the connect-time refusal hides the address as well")
    func connectTimeRefusalIsOpaque() throws {
        var policy = FetchPolicy()
        policy.skipPreflightForTesting = true
        let got = Fetch.run("http://127.0.0.2:9/", policy: policy)
        #expect(got.failure?.code == "destination_not_allowed")
        #expect(got.failure?.message.contains("127.0.0.2") == false)
        #expect(got.failure?.logDetail?.contains("127.0.0.2") == true)
    }
}
