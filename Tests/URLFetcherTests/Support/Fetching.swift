//===----------------------------------------------------------------------===//
// ImageGate: running a URLFetch in tests and collecting what reached the sink.
//===----------------------------------------------------------------------===//

import Foundation
import Glibc
import URLFetcher

/// What one `run` delivered.
struct Fetched {
    let result: Result<FetchResult, FetchFailure>
    let data: Data
    let progressCalls: [(UInt64, UInt64?)]

    var failure: FetchFailure? {
        if case .failure(let f) = result { return f }
        return nil
    }
    var success: FetchResult? { try? result.get() }
}

enum Fetch {
    /// The tests' sources listen on 127.0.0.1, which an administrator would have to allow-list.
    static var loopbackPolicy: FetchPolicy {
        var p = FetchPolicy()
        p.allowedPrivateRanges = [AddressRange(cidr: "127.0.0.1/32")!]
        p.caFile = Env.certs + "/ca.crt"
        p.retryBackoffMilliseconds = 50
        p.idleTimeoutSeconds = 10
        return p
    }

    /// Runs `url` to completion on the calling thread. `onBytes` sees the running total after each chunk
    /// and may stop the transfer by returning false.
    static func run(
        _ url: String, policy: FetchPolicy = loopbackPolicy, resumeFrom: UInt64 = 0, validator: String? = nil,
        expectedTotal: UInt64? = nil, fetch: URLFetch? = nil, onBytes: (Int) -> Bool = { _ in true }
    ) -> Fetched {
        let f = fetch ?? URLFetch(url: url, policy: policy)
        var data = Data()
        var calls: [(UInt64, UInt64?)] = []
        let result = f.run(
            resumeFrom: resumeFrom, validator: validator, expectedTotal: expectedTotal,
            sink: { chunk in
                data.append(contentsOf: chunk)
                return onBytes(data.count)
            },
            progress: { calls.append(($0, $1)) })
        return Fetched(result: result, data: data, progressCalls: calls)
    }

    /// sha256sum of bytes (the import pipeline's own digest lives in CryptoPrimitives, outside this target).
    static func sha256(_ data: Data) -> String {
        let path = NSTemporaryDirectory() + "sha-\(UInt64.random(in: 0...UInt64.max))"
        try? data.write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let out = (try? Env.run("/usr/bin/sha256sum", [path]))?.output ?? ""
        return String(out.prefix(64))
    }
}
