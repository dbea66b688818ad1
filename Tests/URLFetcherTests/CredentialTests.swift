//===----------------------------------------------------------------------===//
// ImageGate: URL credentials never appear in a FetchFailure, a redacted URL or a result (Docs/protocols.md §4.1).
//===----------------------------------------------------------------------===//

import Foundation
import Testing
import URLFetcher

@Suite(.timeLimit(.minutes(2)))
struct CredentialTests {
    static let secret = "secretpw"

    /// Every failure path reachable with an ftp://user:secretpw@ URL, plus the http(s) userinfo refusal.
    @Test("no failure message and no redacted URL contains the password")
    func noLeak() throws {
        let closedPort = Net.freePort()
        var portPolicy = Fetch.loopbackPolicy
        portPolicy.allowedPorts = [21]
        var schemePolicy = Fetch.loopbackPolicy
        schemePolicy.schemes = ["https"]
        var cases: [(String, FetchPolicy)] = [
            ("ftp://user:\(Self.secret)@169.254.169.254/img", FetchPolicy()),
            ("ftp://user:\(Self.secret)@127.0.0.1:\(closedPort)/img", FetchPolicy()),
            ("ftp://user:\(Self.secret)@127.0.0.1:\(closedPort)/img", Fetch.loopbackPolicy),
            ("ftp://user:\(Self.secret)@127.0.0.1:2121/img", portPolicy),
            ("ftp://user:\(Self.secret)@127.0.0.1/img", schemePolicy),
            ("ftp://user:\(Self.secret)@127.0.0.1/dir/", Fetch.loopbackPolicy),
            ("ftp://user:\(Self.secret)@no-such-host.invalid/img", Fetch.loopbackPolicy),
            ("ftp://user:\(Self.secret)@exa mple/img?x", Fetch.loopbackPolicy),
            ("ftp://user:\(Self.secret)@[::1]/img", FetchPolicy()),
            ("http://user:\(Self.secret)@127.0.0.1/img", Fetch.loopbackPolicy),
            ("https://user:\(Self.secret)@example.com/img", Fetch.loopbackPolicy),
            ("gopher://user:\(Self.secret)@127.0.0.1/img", Fetch.loopbackPolicy),
            ("ftp://user:s%65cretpw@169.254.169.254/img", FetchPolicy()),
        ]
        var ftp: FTPServer?
        if Env.hasPyftpdlib {
            let server = try FTPServer(user: "user", password: Self.secret)
            try server.root.makeFile("img", count: 100)
            ftp = server
            let base = "ftp://user:\(Self.secret)@127.0.0.1:\(server.port)"
            cases += [
                (base + "/missing", Fetch.loopbackPolicy),
                (
                    base + "/img",
                    { () -> FetchPolicy in
                        var p = Fetch.loopbackPolicy
                        p.maxBytes = 10
                        return p
                    }()
                ),
            ]
            // Cancelled before the run starts.
            let f = URLFetch(url: base + "/img", policy: Fetch.loopbackPolicy)
            f.cancel()
            check(f.redactedURL, Fetch.run("", fetch: f).failure)
        }
        for (url, policy) in cases {
            let fetch = URLFetch(url: url, policy: policy)
            let got = Fetch.run(url, policy: policy, fetch: fetch)
            #expect(got.failure != nil, "\(url) should fail")
            check(fetch.redactedURL, got.failure)
        }
        withExtendedLifetime(ftp) {}
    }

    private func check(_ redacted: String, _ failure: FetchFailure?) {
        for text in [redacted, failure?.message ?? "", failure?.description ?? ""] {
            #expect(!text.contains(Self.secret), "leak: \(text)")
        }
        #expect(redacted.contains("***") || !redacted.contains("@"), "\(redacted)")
    }
}
