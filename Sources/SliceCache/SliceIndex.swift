//===----------------------------------------------------------------------===//
// ImageGate: what the read cache holds: slice files with their size and last use, in LRU order.
//===----------------------------------------------------------------------===//
import Synchronization

/// The in-memory index of `cache.dir` (kept under the cache's lock; no I/O here). Rebuilt from the directory
/// at start-up; entries found there are unverified until first opened (Docs/object-storage.md "Read cache").
struct SliceIndex {
    struct Entry {
        var stamp: SliceStamp
        /// Hashed against its recorded digest since this process started (or fetched and checked by it).
        var verified: Bool
        /// When it was last used, on `clock`; shared with the handles readers hold, so a use of a held slice
        /// is one atomic store instead of a lock and a lookup by name.
        let use: SliceUse
        var lastUse: UInt64 { use.last }
    }

    private(set) var entries: [String: Entry] = [:]
    private(set) var totalBytes: UInt64 = 0
    /// A logical clock: larger = used more recently.
    let clock = SliceUseClock()

    /// Entries found on disk at start-up, oldest access first, so the LRU order survives a restart.
    init(found: [String: SliceStamp] = [:]) {
        for (name, stamp) in found.sorted(by: {
            ($0.value.atimeNanoseconds, $0.key) < ($1.value.atimeNanoseconds, $1.key)
        }) {
            insert(name, stamp: stamp, verified: false)
        }
    }

    subscript(name: String) -> Entry? { entries[name] }

    var count: Int { entries.count }

    mutating func insert(_ name: String, stamp: SliceStamp, verified: Bool) {
        if let old = entries[name] { totalBytes -= old.stamp.size }
        entries[name] = Entry(stamp: stamp, verified: verified, use: SliceUse(clock.tick()))
        totalBytes += stamp.size
    }

    func touch(_ name: String) {
        entries[name]?.use.mark(clock)
    }

    mutating func markVerified(_ name: String, stamp: SliceStamp) {
        guard entries[name] != nil else { return }
        entries[name]?.verified = true
        entries[name]?.stamp = stamp
    }

    @discardableResult
    mutating func remove(_ name: String) -> Entry? {
        guard let old = entries.removeValue(forKey: name) else { return nil }
        totalBytes -= old.stamp.size
        return old
    }

    /// Least recently used entries to drop until the total fits `maxBytes`, never `keep` (the slice just
    /// fetched for a waiting request) and never one being fetched. Removes them from the index; the caller
    /// unlinks the files (a reader that has one open keeps reading it: unlink-after-open).
    mutating func evictions(toFit maxBytes: UInt64, keep: Set<String>) -> [String] {
        guard totalBytes > maxBytes else { return [] }
        var victims: [String] = []
        let order = entries.map { ($0.key, $0.value.lastUse) }.sorted { $0.1 < $1.1 }
        for (name, _) in order where !keep.contains(name) {
            if totalBytes <= maxBytes { break }
            remove(name)
            victims.append(name)
        }
        return victims
    }
}

extension SliceIndex {
    /// The file looked wrong when opened (length or mtime): hash it again before it is served.
    mutating func markUnverified(_ name: String) {
        entries[name]?.verified = false
    }
}

/// The cache's use clock: one tick per use of any slice.
final class SliceUseClock: Sendable {
    private let now = Atomic<UInt64>(0)
    func tick() -> UInt64 { now.add(1, ordering: .relaxed).newValue }
}

/// When one slice was last used (a tick of the cache's clock).
final class SliceUse: Sendable {
    private let tick: Atomic<UInt64>
    init(_ tick: UInt64) { self.tick = Atomic(tick) }
    var last: UInt64 { tick.load(ordering: .relaxed) }
    func mark(_ clock: SliceUseClock) { tick.store(clock.tick(), ordering: .relaxed) }
}
