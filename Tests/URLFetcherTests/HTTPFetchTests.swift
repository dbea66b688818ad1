//===----------------------------------------------------------------------===//
// ImageGate: URLFetch against a real nginx on loopback — http, https, redirects, size caps, cancel, TLS.
//===----------------------------------------------------------------------===//

import Foundation
import Glibc
import Synchronization
import Testing
import URLFetcher

@Suite(.enabled(if: Env.hasNginx, "nginx missing: run scripts/install-deps.sh --test"), .timeLimit(.minutes(2)))
struct HTTPFetchTests {
    @Test("clean http import: every byte, size, ETag validator, progress")
    func cleanHTTP() throws {
        let nginx = try Nginx()
        let source = try nginx.dir.makeFile("www/img.bin", count: 3_000_000)
        let got = Fetch.run(nginx.http + "/img.bin")
        let r = try #require(got.success, "\(String(describing: got.failure))")
        #expect(got.data == source)
        #expect(Fetch.sha256(got.data) == Fetch.sha256(source))
        #expect(r.bytes == 3_000_000 && r.totalSize == 3_000_000 && r.retries == 0)
        #expect(r.validator?.hasPrefix("\"") == true, "nginx sends a strong ETag")
        #expect(r.finalURL == nginx.http + "/img.bin")
        #expect(got.progressCalls.last?.0 == 3_000_000 && got.progressCalls.last?.1 == 3_000_000)
    }

    @Test("clean https import verified against the test CA, by IP and by name (pinned, SNI kept)")
    func cleanHTTPS() throws {
        let nginx = try Nginx()
        let source = try nginx.dir.makeFile("www/img.bin", count: 500_000)
        #expect(Fetch.run(nginx.https + "/img.bin").data == source)
        let byName = Fetch.run("https://localhost:\(nginx.httpsPort)/img.bin")
        #expect(byName.success != nil, "\(String(describing: byName.failure))")
        #expect(byName.data == source)
    }

    @Test("https without the test CA in the trust store fails with tls_error before any byte")
    func untrustedCertificate() throws {
        let nginx = try Nginx()
        try nginx.dir.makeFile("www/img.bin", count: 1000)
        var policy = Fetch.loopbackPolicy
        policy.caFile = nil
        let got = Fetch.run(nginx.https + "/img.bin", policy: policy)
        #expect(got.failure?.code == "tls_error", "\(String(describing: got.failure))")
        #expect(got.data.isEmpty)
    }

    @Test("redirect chain (302 relative → 301 absolute → 307) is followed hop by hop")
    func redirectChain() throws {
        let nginx = try Nginx()
        let source = try nginx.dir.makeFile("www/img.bin", count: 100_000)
        let got = Fetch.run(nginx.http + "/r1")
        #expect(got.data == source)
        #expect(got.success?.finalURL == nginx.http + "/img.bin")
        let up = Fetch.run(nginx.http + "/to-https")
        #expect(up.data == source, "http → https upgrade is fine")
        #expect(up.success?.finalURL == nginx.https + "/img.bin")
    }

    @Test("redirect limits: a loop fails at hop maxRedirects+1; https → http downgrade refused")
    func redirectLimits() throws {
        let nginx = try Nginx()
        try nginx.dir.makeFile("www/img.bin", count: 1000)
        #expect(Fetch.run(nginx.http + "/loop").failure?.code == "too_many_redirects")
        var strict = Fetch.loopbackPolicy
        strict.maxRedirects = 2
        #expect(Fetch.run(nginx.http + "/r1", policy: strict).failure?.code == "too_many_redirects")
        strict.maxRedirects = 3
        #expect(Fetch.run(nginx.http + "/r1", policy: strict).success != nil)
        let down = Fetch.run(nginx.https + "/down")
        #expect(down.failure?.code == "insecure_redirect")
        #expect(down.data.isEmpty)
        #expect(Fetch.run(nginx.http + "/to-file").failure?.code == "scheme_not_allowed")
        #expect(Fetch.run(nginx.http + "/to-creds").failure?.code == "bad_url")
    }

    @Test("an HTTP error status is a failure naming the status, with no body delivered")
    func httpStatus() throws {
        let nginx = try Nginx()
        let got = Fetch.run(nginx.http + "/missing.bin")
        #expect(got.failure?.code == "http_status")
        #expect(got.failure?.message.contains("404") == true)
        #expect(got.data.isEmpty)
    }

    @Test("oversize: the sink's cap stops the transfer promptly with 'aborted'; policy.maxBytes with 'too_large'")
    func oversize() throws {
        let nginx = try Nginx()
        try nginx.dir.makeFile("www/img.bin", count: 8_000_000)
        let cap = 1_000_000
        let clock = ContinuousClock()
        let start = clock.now
        let got = Fetch.run(nginx.http + "/img.bin") { $0 <= cap }
        #expect(got.failure?.code == "aborted")
        #expect(got.data.count < cap + 256 * 1024, "stopped at the first chunk over the cap")
        #expect(clock.now - start < .seconds(5))

        var policy = Fetch.loopbackPolicy
        policy.maxBytes = 1_000_000
        let declared = Fetch.run(nginx.http + "/img.bin", policy: policy)
        #expect(declared.failure?.code == "too_large")
        #expect(declared.data.isEmpty, "Content-Length over the cap: refused before the body")
        // A source that does not declare its size: the cap applies while streaming, and no byte past it
        // reaches the sink (Docs/protocols.md §4.2 "abort at the first byte over").
        guard Env.hasPython else { return }
        let undeclared = try DroppingHTTPServer(data: Data(count: 3_000_000), mode: "no-length", cut: 0)
        let streamed = Fetch.run(undeclared.url, policy: policy)
        #expect(streamed.failure?.code == "too_large")
        #expect(streamed.data.count <= 1_000_000)
    }

    @Test("cancel() from another thread stops a slow transfer quickly with 'cancelled'")
    func cancelMidTransfer() throws {
        let nginx = try Nginx(limitRate: "100k")
        try nginx.dir.makeFile("www/slow/big.bin", count: 5_000_000)
        let fetch = URLFetch(url: nginx.http + "/slow/big.bin", policy: Fetch.loopbackPolicy)
        let started = Atomic<Bool>(false)
        let thread = Thread {
            while !started.load(ordering: .sequentiallyConsistent) { usleep(10_000) }
            usleep(300_000)
            fetch.cancel()
        }
        thread.start()
        let clock = ContinuousClock()
        var cancelledAt = clock.now
        let got = Fetch.run("", fetch: fetch) { n in
            if n > 0, !started.load(ordering: .sequentiallyConsistent) {
                cancelledAt = clock.now
                started.store(true, ordering: .sequentiallyConsistent)
            }
            return true
        }
        #expect(got.failure?.code == "cancelled")
        #expect(clock.now - cancelledAt < .seconds(3), "returned within about a second of cancel()")
        #expect(got.data.count < 5_000_000)
        #expect(Fetch.run("", fetch: fetch).failure?.code == "cancelled", "cancel is one-way")
    }

    @Test("crash recovery: resumeFrom + validator continues with Range/If-Range; a stale validator is source_changed")
    func crashResume() throws {
        let nginx = try Nginx()
        let source = try nginx.dir.makeFile("www/img.bin", count: 2_000_000)
        let first = Fetch.run(nginx.http + "/img.bin") { $0 < 700_000 }
        #expect(first.failure?.code == "aborted")
        let head = first.data.prefix(600_000)
        let validator = try #require(Fetch.run(nginx.http + "/img.bin").success?.validator)
        let rest = Fetch.run(
            nginx.http + "/img.bin", resumeFrom: UInt64(head.count), validator: validator, expectedTotal: 2_000_000)
        #expect(rest.success?.bytes == 1_400_000)
        #expect(Fetch.sha256(head + rest.data) == Fetch.sha256(source))

        let stale = Fetch.run(nginx.http + "/img.bin", resumeFrom: 600_000, validator: "\"0-stale\"")
        #expect(stale.failure?.code == "source_changed")
        #expect(stale.data.isEmpty)
        let resized = Fetch.run(
            nginx.http + "/img.bin", resumeFrom: 600_000, validator: validator, expectedTotal: 3_000_000)
        #expect(resized.failure?.code == "source_changed")
        let done = Fetch.run(nginx.http + "/img.bin", resumeFrom: 2_000_000, validator: validator)
        #expect(done.success?.bytes == 0, "resume at the end: 416 bytes */N is success")
    }
}
