//===----------------------------------------------------------------------===//
// ImageGate: URL import transport — http, https, ftp through libcurl, with redirects, resume and cancel.
//===----------------------------------------------------------------------===//

import Glibc
import Synchronization

/// One URL import's transfer. Create it with the user's URL and the tenant's policy; `run` it on a
/// dedicated thread (it blocks); `cancel` it from anywhere. See Docs/url-import.md for the SSRF design.
///
/// Sendable: it holds only immutable values and an atomic flag. libcurl handles live inside `run`,
/// on the caller's thread, and never escape it.
public final class URLFetch: Sendable {
    public let policy: FetchPolicy
    /// The URL as it may be shown, stored and logged: `URLRedaction.redact` of the input.
    public let redactedURL: String
    private let parsed: Result<FetchTarget, FetchFailure>
    private let cancelled = Atomic<Bool>(false)

    /// Parses `url` with libcurl's URL API and applies every check that needs no network: scheme allow-list,
    /// no userinfo on http(s), a syntactically valid ASCII host, the port allow-list. A URL failing them makes
    /// `run` return that failure at once; `urlFailure` exposes it earlier (API validation before queueing).
    public init(url: String, policy: FetchPolicy) {
        self.policy = policy
        self.redactedURL = URLRedaction.redact(url)
        do {
            parsed = .success(try FetchTarget.parse(url, policy: policy))
        } catch {
            parsed = .failure(error)
        }
    }

    /// Why `run` will fail without connecting, if the URL itself is unacceptable.
    public var urlFailure: FetchFailure? {
        if case .failure(let f) = parsed { return f }
        return nil
    }

    /// Thread-safe and one-way: the running (or next) `run` returns `cancelled`, within about a second
    /// (libcurl calls the progress callback at least once a second even while stalled).
    public func cancel() { cancelled.store(true, ordering: .sequentiallyConsistent) }

    public var isCancelled: Bool { cancelled.load(ordering: .sequentiallyConsistent) }

    /// Fetches the source into `sink`, blocking the calling thread (the importer's own thread, never the
    /// cooperative pool).
    ///
    /// - Parameters:
    ///   - resumeFrom: continue an earlier attempt (crash recovery) at this byte offset: HTTP
    ///     `Range: bytes=N-` with `If-Range: validator`, FTP `REST N`. A 200 instead of 206, another
    ///     validator or another total size fails with `source_changed` before any byte reaches the sink.
    ///   - validator: `FetchResult.validator` (or the last one recorded) of the earlier attempt.
    ///   - expectedTotal: the source size recorded by the earlier attempt, if any.
    ///   - sink: receives the bytes in order from `resumeFrom`; returning false stops with `aborted`.
    ///   - progress: (absolute offset reached, total if known), at most about 4 times a second, and once at the end.
    /// - Returns: the result, or a failure whose `message` holds no credential.
    public func run(
        resumeFrom: UInt64 = 0, validator: String? = nil, expectedTotal: UInt64? = nil,
        sink: (UnsafeRawBufferPointer) -> Bool, progress: (UInt64, UInt64?) -> Void = { _, _ in }
    ) -> Result<FetchResult, FetchFailure> {
        withoutActuallyEscaping(sink) { sink in
            withoutActuallyEscaping(progress) { progress in
                var state = RunState(offset: resumeFrom, validator: validator, total: expectedTotal)
                return loop(&state, sink: sink, progress: progress)
            }
        }
    }

    private struct RunState {
        let offset: UInt64
        var validator: String?
        var total: UInt64?
        var delivered: UInt64 = 0
        var retries = 0
        /// A response from the source was accepted in this run: later connection failures are drops.
        var sawResponse = false
    }

    private func loop(
        _ s: inout RunState, sink: @escaping (UnsafeRawBufferPointer) -> Bool,
        progress: @escaping (UInt64, UInt64?) -> Void
    ) -> Result<FetchResult, FetchFailure> {
        let first: FetchTarget
        switch parsed {
        case .failure(let f): return .failure(f)
        case .success(let t): first = t
        }
        let deadline = policy.maxSeconds > 0 ? ContinuousClock.now + .seconds(policy.maxSeconds) : nil
        let timedOut = FetchFailure(code: "timeout", message: "import exceeded \(policy.maxSeconds) s")
        var start = first  // where an attempt begins: the original URL, then the last hop reached
        attempts: while true {
            var hop = start
            var hops = 0
            while true {  // one hop per iteration: a redirect continues here, a retry restarts `attempts`
                if isCancelled { return .failure(.cancelled) }
                let remaining = deadline.map { Self.milliseconds($0 - ContinuousClock.now) }
                if let remaining, remaining <= 0 { return .failure(timedOut) }
                let pinned: PinnedHost?
                do {
                    pinned = policy.skipPreflightForTesting ? nil : try HostResolver.pin(hop, policy: policy)
                } catch {
                    return .failure(error)
                }
                let request = CurlTransfer.Request(
                    target: hop, policy: policy, pinned: pinned, offset: s.offset + s.delivered,
                    validator: s.validator, total: s.total, timeoutMilliseconds: remaining)
                let report = CurlTransfer.perform(request, sink: sink, progress: progress) { [self] in isCancelled }
                s.delivered += report.delivered
                if report.accepted {
                    s.sawResponse = true
                    s.total = s.total ?? report.total
                    s.validator = s.validator ?? report.validator
                }
                switch report.outcome {
                case .completed:
                    progress(s.offset + s.delivered, s.total)
                    return .success(
                        FetchResult(
                            bytes: s.delivered, totalSize: s.total, finalURL: hop.redacted, validator: s.validator,
                            retries: s.retries))
                case .redirect(let location):
                    hops += 1
                    guard hops <= policy.maxRedirects else {
                        return .failure(
                            FetchFailure(
                                code: "too_many_redirects",
                                message: "more than \(policy.maxRedirects) redirects from \(first.redacted)"))
                    }
                    do {
                        hop = try hop.redirect(to: location, policy: policy)
                    } catch {
                        return .failure(error)
                    }
                case .failed(let failure, let transient):
                    if let deadline, ContinuousClock.now >= deadline { return .failure(timedOut) }
                    guard transient, s.sawResponse else { return .failure(failure) }
                    guard s.retries < policy.maxRetries else {
                        return .failure(
                            FetchFailure(
                                code: "retries_exhausted",
                                message: "source connection dropped \(s.retries + 1) times; last: \(failure.message)"))
                    }
                    s.retries += 1
                    if let stop = backoff(retry: s.retries, deadline: deadline) { return .failure(stop) }
                    start = hop
                    continue attempts
                }
            }
        }
    }

    /// Sleeps before retry `n` (exponential, capped at 5 s), waking early for cancel or the deadline.
    private func backoff(retry n: Int, deadline: ContinuousClock.Instant?) -> FetchFailure? {
        let ms = min(5000, policy.retryBackoffMilliseconds << min(n - 1, 16))
        let until = ContinuousClock.now + .milliseconds(ms)
        while ContinuousClock.now < until {
            if isCancelled { return .cancelled }
            if let deadline, ContinuousClock.now >= deadline { return nil }
            usleep(20_000)
        }
        return nil
    }

    private static func milliseconds(_ d: Duration) -> Int {
        let (seconds, attoseconds) = d.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
