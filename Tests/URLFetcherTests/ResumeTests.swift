//===----------------------------------------------------------------------===//
// ImageGate: a dropped or killed source is resumed (Range + If-Range) a bounded number of times.
//===----------------------------------------------------------------------===//

import Foundation
import Glibc
import Testing
import URLFetcher

@Suite(.timeLimit(.minutes(2)))
struct ResumeTests {
    @Test(
        "a connection cut mid-body is resumed with Range and If-Range; sha256 matches",
        .enabled(if: Env.hasPython, "/usr/bin/python3 missing"))
    func droppedConnectionResumed() throws {
        let source = try TempDir().makeFile("x", count: 2_000_000, seed: 7)
        let server = try DroppingHTTPServer(data: source, mode: "drop", cut: 750_000)
        let got = Fetch.run(server.url)
        let r = try #require(got.success, "\(String(describing: got.failure))")
        #expect(r.retries == 1 && r.bytes == 2_000_000 && r.totalSize == 2_000_000 && r.validator == "\"v1\"")
        #expect(Fetch.sha256(got.data) == Fetch.sha256(source))
        let log = server.requestLog
        #expect(log.count == 2)
        #expect(log.first == "1 range=None if-range=None")
        #expect(log.last?.hasPrefix("2 range=bytes=") == true && log.last?.hasSuffix("if-range=\"v1\"") == true)
    }

    @Test(
        "the ETag changing between attempts is source_changed; nothing of the new version reaches the sink",
        .enabled(if: Env.hasPython, "/usr/bin/python3 missing"))
    func etagChanged() throws {
        let source = try TempDir().makeFile("x", count: 1_000_000, seed: 8)
        let server = try DroppingHTTPServer(data: source, mode: "etag-change", cut: 300_000)
        let got = Fetch.run(server.url)
        #expect(got.failure?.code == "source_changed", "\(String(describing: got.failure))")
        #expect(got.data.count < 1_000_000 && got.data == source.prefix(got.data.count))
    }

    @Test(
        "a source that keeps dropping exhausts maxRetries with retries_exhausted",
        .enabled(if: Env.hasPython, "/usr/bin/python3 missing"))
    func retriesExhausted() throws {
        let source = try TempDir().makeFile("x", count: 1_000_000, seed: 9)
        let server = try DroppingHTTPServer(data: source, mode: "drop-always", cut: 100_000)
        var policy = Fetch.loopbackPolicy
        policy.maxRetries = 2
        let got = Fetch.run(server.url, policy: policy)
        #expect(got.failure?.code == "retries_exhausted", "\(String(describing: got.failure))")
        #expect(server.requestLog.count == 3, "the first attempt plus 2 retries")
        #expect(got.data == source.prefix(got.data.count), "whatever arrived is in order")
    }

    @Test(
        "nginx killed (SIGKILL) mid-transfer and restarted: the import resumes and the sha256 is right",
        .enabled(if: Env.hasNginx, "nginx missing: run scripts/install-deps.sh --test"))
    func sourceKilled() throws {
        let nginx = try Nginx(limitRate: "2m")
        let source = try nginx.dir.makeFile("www/slow/img.bin", count: 4_000_000, seed: 10)
        var killed = false
        let got = Fetch.run(nginx.http + "/slow/img.bin") { received in
            if !killed, received >= 600_000 {
                killed = true
                nginx.kill()
                try? nginx.start()
            }
            return true
        }
        let r = try #require(got.success, "\(String(describing: got.failure))")
        #expect(killed)
        #expect(r.retries >= 1)
        #expect(Fetch.sha256(got.data) == Fetch.sha256(source))
    }

    @Test("a source that never answered is not retried: connect_failed at once")
    func firstConnectNotRetried() throws {
        let port = Net.freePort()
        let clock = ContinuousClock()
        let start = clock.now
        let got = Fetch.run("http://127.0.0.1:\(port)/x")
        #expect(got.failure?.code == "connect_failed", "\(String(describing: got.failure))")
        #expect(clock.now - start < .seconds(2))
    }

    @Test(
        "the wall-clock cap ends a slow import with timeout",
        .enabled(if: Env.hasNginx, "nginx missing: run scripts/install-deps.sh --test"))
    func wallClockCap() throws {
        let nginx = try Nginx(limitRate: "50k")
        try nginx.dir.makeFile("www/slow/img.bin", count: 1_000_000)
        var policy = Fetch.loopbackPolicy
        policy.maxSeconds = 1
        let clock = ContinuousClock()
        let start = clock.now
        let got = Fetch.run(nginx.http + "/slow/img.bin", policy: policy)
        #expect(got.failure?.code == "timeout", "\(String(describing: got.failure))")
        #expect(clock.now - start < .seconds(4))
    }
}
