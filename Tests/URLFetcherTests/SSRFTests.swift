//===----------------------------------------------------------------------===//
// ImageGate: Docs/protocols.md §4.5 SSRF cases — refused before any connection, at every redirect hop, at connect time.
//===----------------------------------------------------------------------===//

import Foundation
import Testing

@testable import URLFetcher

@Suite(.timeLimit(.minutes(2)))
struct SSRFTests {
    /// Refusal before a connection: a trap listens where the URL points and must see no connection.
    @Test(
        "loopback spellings are refused without an allow-list, and nothing connects",
        arguments: ["127.0.0.1", "2130706433", "0177.0.0.1", "127.1", "0x7f.1", "0x7f000001", "localhost"])
    func loopbackRefused(_ host: String) throws {
        let trap = try AcceptTrap(host: "127.0.0.1")
        let got = Fetch.run("http://\(host):\(trap.port)/img.bin", policy: FetchPolicy())
        #expect(got.failure?.code == "destination_not_allowed", "\(String(describing: got.failure))")
        #expect(got.data.isEmpty)
        #expect(trap.acceptedCount() == 0, "no connection was made")
    }

    @Test("IPv6 loopback is refused and nothing connects")
    func ipv6LoopbackRefused() throws {
        guard let trap = try? AcceptTrap(host: "::1") else { return }  // no IPv6 on this host
        let got = Fetch.run("http://[::1]:\(trap.port)/", policy: FetchPolicy())
        #expect(got.failure?.code == "destination_not_allowed")
        #expect(trap.acceptedCount() == 0)
        let mapped = Fetch.run("http://[::ffff:127.0.0.1]:\(trap.port)/", policy: FetchPolicy())
        #expect(mapped.failure?.code == "destination_not_allowed")
    }

    @Test(
        "Docs/protocols.md §4.5 destinations are refused with destination_not_allowed",
        arguments: [
            "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/meta-data/",
            "http://[::ffff:10.0.0.1]/", "http://[::ffff:a9fe:a9fe]/", "http://10.0.0.5/", "http://192.168.1.1/",
            "http://0.0.0.0/", "http://[::]/", "http://[64:ff9b::a9fe:a9fe]/", "http://2852039166/",
            "ftp://user:secretpw@169.254.169.254/img", "https://100.100.100.200/", "http://[fe80::1]/",
        ])
    func blockedDestinations(_ url: String) {
        let clock = ContinuousClock()
        let start = clock.now
        let got = Fetch.run(url, policy: FetchPolicy())
        #expect(got.failure?.code == "destination_not_allowed", "\(String(describing: got.failure))")
        #expect(got.failure?.message.contains("nothing was fetched") == true)
        #expect(clock.now - start < .seconds(2), "refused before connecting (no connect timeout waited)")
    }

    @Test("an allow-list entry lifts the block for its range only")
    func allowListIsNarrow() throws {
        let trap = try AcceptTrap(host: "127.0.0.2")
        var policy = FetchPolicy()
        policy.allowedPrivateRanges = [AddressRange(cidr: "127.0.0.1/32")!]
        let got = Fetch.run("http://127.0.0.2:\(trap.port)/", policy: policy)
        #expect(got.failure?.code == "destination_not_allowed")
        #expect(trap.acceptedCount() == 0)
        policy.deniedRanges = [AddressRange(cidr: "127.0.0.0/8")!]
        #expect(Fetch.run("http://127.0.0.1:1/", policy: policy).failure?.code == "destination_not_allowed")
    }

    @Test(
        "a redirect to a private or metadata address is refused at that hop, before connecting",
        .enabled(if: Env.hasNginx, "nginx missing: run scripts/install-deps.sh --test"),
        arguments: ["/to-private", "/to-metadata", "/to-trap", "/to-decimal"])
    func redirectToPrivate(_ path: String) throws {
        let nginx = try Nginx()
        try nginx.dir.makeFile("www/img.bin", count: 1000)
        let clock = ContinuousClock()
        let start = clock.now
        let got = Fetch.run(nginx.http + path)
        #expect(got.failure?.code == "destination_not_allowed", "\(String(describing: got.failure))")
        #expect(got.data.isEmpty)
        #expect(nginx.trap.acceptedCount() == 0, "127.0.0.2 (not allow-listed) never saw a connection")
        #expect(clock.now - start < .seconds(3))
    }

    @Test("the connect-time check (CURLOPT_OPENSOCKETFUNCTION) refuses on its own, without the pre-check")
    func connectTimeCheck() throws {
        let trap = try AcceptTrap(host: "127.0.0.2")
        var policy = FetchPolicy()
        policy.allowedPrivateRanges = [AddressRange(cidr: "127.0.0.1/32")!]
        policy.skipPreflightForTesting = true
        let got = Fetch.run("http://127.0.0.2:\(trap.port)/", policy: policy)
        #expect(got.failure?.code == "destination_not_allowed", "\(String(describing: got.failure))")
        #expect(got.failure?.logDetail?.contains("at connect time") == true)
        #expect(trap.acceptedCount() == 0)
        // The same check lets an allow-listed address through (so the refusal above is the check's doing).
        let open = try AcceptTrap(host: "127.0.0.1")
        policy.connectTimeoutSeconds = 1
        policy.idleTimeoutSeconds = 1
        _ = Fetch.run("http://127.0.0.1:\(open.port)/", policy: policy)
        #expect(open.acceptedCount() == 1)
    }

    @Test("a name with any blocked address is refused even when another address is allowed")
    func anyAddressBlocked() throws {
        var policy = FetchPolicy()
        policy.allowedPrivateRanges = [AddressRange(cidr: "127.0.0.1/32")!]
        let target = try FetchTarget.parse("http://mirror.example/", policy: policy)
        let pinned = try HostResolver.validate([[127, 0, 0, 1]], for: target, policy: policy)
        #expect(pinned.resolveEntry(for: target) == "mirror.example:80:127.0.0.1")
        #expect(throws: FetchFailure.self) {
            _ = try HostResolver.validate([[127, 0, 0, 1], [10, 0, 0, 1]], for: target, policy: policy)
        }
        #expect(throws: FetchFailure.self) {
            _ = try HostResolver.validate(
                [[8, 8, 8, 8], IPAddressText.parse("fe80::1")!], for: target, policy: policy)
        }
        let v6 = try HostResolver.validate(
            [[8, 8, 8, 8], IPAddressText.parse("2606:4700::1")!], for: target,
            policy: policy)
        #expect(v6.resolveEntry(for: target) == "mirror.example:80:8.8.8.8,[2606:4700::1]")
    }
}
