//===----------------------------------------------------------------------===//
// ImageGate: process-wide counters kept per thread and summed when /metrics is scraped.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One time series: a metric family name and its rendered label set (`{a="x",b="y"}` or empty).
public struct MetricSeries: Hashable, Sendable {
    public let name: String
    public let labels: String

    public init(_ name: String, _ labels: [(String, String)] = []) {
        self.name = name
        self.labels = MetricSeries.render(labels)
    }

    static func render(_ labels: [(String, String)]) -> String {
        if labels.isEmpty { return "" }
        return "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// Text exposition format 0.0.4: backslash, double quote and line feed are escaped in label values.
    static func escape(_ value: String) -> String {
        var out = ""
        for ch in value {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }
}

/// The counters one thread has bumped. Only its owner writes; a scrape reads under the same (then briefly
/// contended) lock, so an event loop pays one uncontended lock and one dictionary update per access line.
final class MetricShard: Sendable {
    let values = Mutex<[MetricSeries: Double]>([:])
}

/// Every live shard plus what exited threads left behind, so a counter never goes backwards when an FTP or
/// SFTP session thread ends.
final class MetricShards: Sendable {
    private struct State {
        var live: [ObjectIdentifier: MetricShard] = [:]
        var retired: [MetricSeries: Double] = [:]
    }
    private let state = Mutex(State())

    func register(_ shard: MetricShard) {
        state.withLock { $0.live[ObjectIdentifier(shard)] = shard }
    }

    func retire(_ shard: MetricShard) {
        let values = shard.values.withLock { $0 }
        state.withLock { s in
            s.live[ObjectIdentifier(shard)] = nil
            for (k, v) in values { s.retired[k, default: 0] += v }
        }
    }

    func sum() -> [MetricSeries: Double] {
        let (live, retired) = state.withLock { (Array($0.live.values), $0.retired) }
        var total = retired
        for shard in live {
            for (k, v) in shard.values.withLock({ $0 }) { total[k, default: 0] += v }
        }
        return total
    }
}

/// The thread-local shard: created on a thread's first bump, retired by the pthread key destructor.
private let shardKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { raw in
        guard let raw else { return }
        Metrics.shards.retire(Unmanaged<MetricShard>.fromOpaque(raw).takeRetainedValue())
    }
    return key
}()

/// Where every module counts. Bumps go to the calling thread's shard; `Metrics.snapshot()` sums them.
public enum Metrics {
    static let shards = MetricShards()
    private static let enabled = Atomic<Bool>(true)

    /// With no metrics listener (`metrics.listen = off`) nothing is counted: each bump is one relaxed load.
    public static func setEnabled(_ on: Bool) { enabled.store(on, ordering: .relaxed) }

    private static var current: MetricShard {
        if let raw = pthread_getspecific(shardKey) {
            return Unmanaged<MetricShard>.fromOpaque(raw).takeUnretainedValue()
        }
        let shard = MetricShard()
        shards.register(shard)
        pthread_setspecific(shardKey, Unmanaged.passRetained(shard).toOpaque())
        return shard
    }

    /// Adds `amount` to a counter series.
    public static func add(_ series: MetricSeries, _ amount: Double = 1) {
        guard enabled.load(ordering: .relaxed) else { return }
        current.values.withLock { $0[series, default: 0] += amount }
    }

    /// Adds to several series under one lock (an access line bumps bytes and requests together).
    public static func add(_ pairs: (MetricSeries, Double)...) {
        guard enabled.load(ordering: .relaxed) else { return }
        current.values.withLock { v in
            for (s, a) in pairs { v[s, default: 0] += a }
        }
    }

    /// Records one observation of a histogram family (`_bucket{le}`, `_sum`, `_count`).
    public static func observe(_ histogram: MetricHistogram, _ value: Double) {
        guard enabled.load(ordering: .relaxed) else { return }
        current.values.withLock { v in
            for (le, series) in histogram.bucketSeries where value <= le { v[series, default: 0] += 1 }
            v[histogram.infSeries, default: 0] += 1
            v[histogram.sumSeries, default: 0] += value
            v[histogram.countSeries, default: 0] += 1
        }
    }

    /// Every counter and histogram cell, summed over all threads (live and exited).
    public static func snapshot() -> [MetricSeries: Double] { shards.sum() }
}

/// Fixed buckets of a histogram family, with its series built once.
public struct MetricHistogram: Sendable {
    public let name: String
    public let buckets: [Double]
    let bucketSeries: [(Double, MetricSeries)]
    let infSeries: MetricSeries
    let sumSeries: MetricSeries
    let countSeries: MetricSeries

    public init(name: String, buckets: [Double]) {
        self.name = name
        self.buckets = buckets
        bucketSeries = buckets.map { ($0, MetricSeries(name + "_bucket", [("le", MetricText.number($0))])) }
        infSeries = MetricSeries(name + "_bucket", [("le", "+Inf")])
        sumSeries = MetricSeries(name + "_sum")
        countSeries = MetricSeries(name + "_count")
    }
}
