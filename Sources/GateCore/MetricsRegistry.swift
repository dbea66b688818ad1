//===----------------------------------------------------------------------===//
// ImageGate: process-wide counters kept per thread in pre-registered slots and summed when /metrics is scraped.
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

/// A counter series resolved to its slot once (a `static let` at the count site). A bump indexes the calling
/// thread's slot array: no label text, no hashing, no lock, nothing another thread writes.
public struct MetricCounter: Sendable, Equatable {
    let slot: Int
}

/// Consecutive slots registered together, for a family whose labels come from short fixed lists: the count
/// site computes the index (front × status class, say) instead of looking a label set up.
public struct MetricCounterBlock: Sendable {
    let base: Int
    public let count: Int

    public subscript(_ i: Int) -> MetricCounter {
        precondition(i >= 0 && i < count, "metric counter index out of its block")
        return MetricCounter(slot: base + i)
    }
}

/// Which series each slot counts. Registration takes this process-wide lock once per series or block; bumps
/// never do. Two slots may count the same series (a block and a later single registration): a scrape adds
/// them up. Slot 0 takes whatever does not fit the fixed capacity and is never rendered.
final class MetricSlotTable: Sendable {
    static let capacity = 1024
    static let overflow = MetricSeries("imagegate_internal_metric_slots_overflow")

    private struct State {
        var series: [MetricSeries] = [MetricSlotTable.overflow]
        var first: [MetricSeries: Int] = [:]
        /// Slots of histogram buckets (+Inf last), each counting only its own bucket: made cumulative when read.
        var cumulative: [Range<Int>] = []
    }
    private let state = Mutex(State())

    func counter(_ series: MetricSeries) -> MetricCounter {
        state.withLock { s in
            if let slot = s.first[series] { return MetricCounter(slot: slot) }
            guard s.series.count < Self.capacity else { return MetricCounter(slot: 0) }
            s.series.append(series)
            s.first[series] = s.series.count - 1
            return MetricCounter(slot: s.series.count - 1)
        }
    }

    /// Consecutive slots for `series`; the first `cumulative` of them are histogram buckets (+Inf last), each
    /// counting only its own bucket, added up into cumulative ones when read.
    func block(_ series: [MetricSeries], cumulative: Int = 0) -> MetricCounterBlock {
        state.withLock { s in
            guard s.series.count + series.count <= Self.capacity else {
                return MetricCounterBlock(base: 0, count: 0)
            }
            let base = s.series.count
            for (i, one) in series.enumerated() {
                s.series.append(one)
                if s.first[one] == nil { s.first[one] = base + i }
            }
            if cumulative > 0 { s.cumulative.append(base..<(base + cumulative)) }
            return MetricCounterBlock(base: base, count: series.count)
        }
    }

    /// The series of slots 0..<n, n = slots registered so far, and the histogram bucket ranges among them.
    func registered() -> (series: [MetricSeries], cumulative: [Range<Int>]) {
        state.withLock { ($0.series, $0.cumulative) }
    }
}

/// One thread's slots: `capacity` atomics on cache lines of their own. Only the owning thread writes them (a
/// relaxed load and store: a plain add, no locked instruction); a scrape reads them with relaxed loads. Values
/// are Double bit patterns (byte counters stay exact up to 2^53; histogram sums need fractions).
struct MetricSlots: @unchecked Sendable, Equatable {
    // @unchecked: the memory is written by its owner thread only, read through atomics, and freed under
    // `MetricShards`' lock after its thread exited.
    let base: UnsafeMutablePointer<Atomic<UInt64>>

    init(_ base: UnsafeMutablePointer<Atomic<UInt64>>) { self.base = base }

    static func allocate() -> MetricSlots {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: MetricSlotTable.capacity * MemoryLayout<UInt64>.stride, alignment: 64)
        let base = raw.bindMemory(to: Atomic<UInt64>.self, capacity: MetricSlotTable.capacity)
        for i in 0..<MetricSlotTable.capacity { (base + i).initialize(to: Atomic(0)) }
        return MetricSlots(base)
    }

    func deallocate() {
        base.deinitialize(count: MetricSlotTable.capacity)
        UnsafeMutableRawPointer(base).deallocate()
    }

    @inline(__always) func add(_ slot: Int, _ amount: Double) {
        let cell = base + slot
        let old = Double(bitPattern: cell.pointee.load(ordering: .relaxed))
        cell.pointee.store((old + amount).bitPattern, ordering: .relaxed)
    }

    @inline(__always) func value(_ slot: Int) -> Double {
        Double(bitPattern: (base + slot).pointee.load(ordering: .relaxed))
    }
}

/// Every live thread's slots plus what exited threads left behind, so a counter never goes backwards when an
/// FTP or SFTP session thread ends. The lock is taken when a thread counts for the first time, when it exits
/// and by a scrape (which sums under it, so a retiring thread's slots are never freed while read).
final class MetricShards: Sendable {
    private struct State {
        var live: [MetricSlots] = []
        var retired = [Double](repeating: 0, count: MetricSlotTable.capacity)
    }
    private let state = Mutex(State())

    func register(_ slots: MetricSlots) {
        state.withLock { $0.live.append(slots) }
    }

    func retire(_ slots: MetricSlots) {
        state.withLock { s in
            for i in 0..<MetricSlotTable.capacity { s.retired[i] += slots.value(i) }
            s.live.removeAll { $0 == slots }
        }
        slots.deallocate()
    }

    /// Slot totals over every thread, live and exited, for the first `n` slots.
    func sum(_ n: Int) -> [Double] {
        state.withLock { s in
            var total = Array(s.retired.prefix(n))
            for slots in s.live {
                for i in 0..<n { total[i] += slots.value(i) }
            }
            return total
        }
    }
}

/// The thread-local slots: allocated on a thread's first bump, retired by the pthread key destructor.
private let shardKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { raw in
        guard let raw else { return }
        Metrics.shards.retire(MetricSlots(raw.assumingMemoryBound(to: Atomic<UInt64>.self)))
    }
    return key
}()

/// Where every module counts. Count sites resolve their series to `MetricCounter`s once (`counter`, `block`);
/// bumps go to the calling thread's slots; `Metrics.snapshot()` sums them.
public enum Metrics {
    static let table = MetricSlotTable()
    static let shards = MetricShards()
    private static let enabled = Atomic<Bool>(true)

    /// With no metrics listener (`metrics.listen = off`) nothing is counted: each bump is one relaxed load.
    public static func setEnabled(_ on: Bool) { enabled.store(on, ordering: .relaxed) }

    /// Lets a count site skip even working out which counter to bump.
    public static var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// Registers a series (or finds its slot): a lock and a hash, so call it once per series, not per event.
    public static func counter(_ series: MetricSeries) -> MetricCounter { table.counter(series) }

    /// Registers consecutive slots for these series, in this order.
    public static func block(_ series: [MetricSeries]) -> MetricCounterBlock { table.block(series) }

    @inline(__always) private static var current: MetricSlots {
        if let raw = pthread_getspecific(shardKey) {
            return MetricSlots(raw.assumingMemoryBound(to: Atomic<UInt64>.self))
        }
        let slots = MetricSlots.allocate()
        shards.register(slots)
        pthread_setspecific(shardKey, slots.base)
        return slots
    }

    /// Adds `amount` to a registered counter: the hot-path bump.
    public static func add(_ counter: MetricCounter, _ amount: Double = 1) {
        guard enabled.load(ordering: .relaxed) else { return }
        current.add(counter.slot, amount)
    }

    /// Adds to a series by its labels, registering it on first use: for events that are rare (an import
    /// ending) or whose label values are open-ended; hot paths keep a `MetricCounter`.
    public static func add(_ series: MetricSeries, _ amount: Double = 1) {
        guard enabled.load(ordering: .relaxed) else { return }
        current.add(table.counter(series).slot, amount)
    }

    /// Records one observation of a histogram family (`_bucket{le}`, `_sum`, `_count`): three slot bumps, the
    /// one bucket the value falls in (the first `le` at or above it, else +Inf), the sum and the count. The
    /// buckets are made cumulative when read (`snapshot`), not on every observation.
    public static func observe(_ histogram: MetricHistogram, _ value: Double) {
        guard enabled.load(ordering: .relaxed) else { return }
        let cells = histogram.cells
        guard cells.count == histogram.buckets.count + 3 else { return }  // capacity exhausted at registration
        let slots = current
        let bucket = histogram.buckets.firstIndex { value <= $0 } ?? histogram.buckets.count  // else +Inf
        slots.add(cells[bucket].slot, 1)
        slots.add(cells[cells.count - 2].slot, value)  // _sum
        slots.add(cells[cells.count - 1].slot, 1)  // _count
    }

    /// Every series counted so far (value not zero), summed over all threads (live and exited); histogram
    /// buckets cumulative, as the exposition format wants them.
    public static func snapshot() -> [MetricSeries: Double] {
        let (series, cumulative) = table.registered()
        var totals = shards.sum(series.count)
        for buckets in cumulative {
            for i in buckets.dropFirst() { totals[i] += totals[i - 1] }
        }
        var out: [MetricSeries: Double] = [:]
        for i in 1..<series.count where totals[i] != 0 { out[series[i], default: 0] += totals[i] }
        return out
    }
}

/// Fixed buckets of a histogram family, with its series and slots registered once (keep it in a `static let`).
public struct MetricHistogram: Sendable {
    public let name: String
    public let buckets: [Double]
    let bucketSeries: [(Double, MetricSeries)]
    let infSeries: MetricSeries
    let sumSeries: MetricSeries
    let countSeries: MetricSeries
    /// Slots of the buckets in order, then +Inf, sum and count; a bucket's slot counts the observations that
    /// fall in that bucket only (`Metrics.snapshot` makes them cumulative).
    let cells: MetricCounterBlock

    public init(name: String, buckets: [Double]) {
        self.name = name
        self.buckets = buckets
        bucketSeries = buckets.map { ($0, MetricSeries(name + "_bucket", [("le", MetricText.number($0))])) }
        infSeries = MetricSeries(name + "_bucket", [("le", "+Inf")])
        sumSeries = MetricSeries(name + "_sum")
        countSeries = MetricSeries(name + "_count")
        cells = Metrics.table.block(
            bucketSeries.map(\.1) + [infSeries, sumSeries, countSeries], cumulative: buckets.count + 1)
    }
}
