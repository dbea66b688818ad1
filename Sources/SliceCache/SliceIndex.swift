//===----------------------------------------------------------------------===//
// ImageGate: what the read cache holds: slice files with their size and last use, in LRU order.
//===----------------------------------------------------------------------===//

/// The in-memory index of `cache.dir` (kept under the cache's lock; no I/O here). Rebuilt from the directory
/// at start-up; entries found there are unverified until first opened (Docs/object-storage.md "Read cache").
struct SliceIndex {
    struct Entry {
        var stamp: SliceStamp
        /// Hashed against its recorded digest since this process started (or fetched and checked by it).
        var verified: Bool
        /// A logical clock: larger = used more recently.
        var lastUse: UInt64
    }

    private(set) var entries: [String: Entry] = [:]
    private(set) var totalBytes: UInt64 = 0
    private var clock: UInt64 = 0

    /// Entries found on disk at start-up, oldest access first, so the LRU order survives a restart.
    init(found: [String: SliceStamp]) {
        for (name, stamp) in found.sorted(by: { ($0.value.atimeNanoseconds, $0.key) < ($1.value.atimeNanoseconds, $1.key) }) {
            insert(name, stamp: stamp, verified: false)
        }
    }

    subscript(name: String) -> Entry? { entries[name] }

    var count: Int { entries.count }

    mutating func insert(_ name: String, stamp: SliceStamp, verified: Bool) {
        if let old = entries[name] { totalBytes -= old.stamp.size }
        clock += 1
        entries[name] = Entry(stamp: stamp, verified: verified, lastUse: clock)
        totalBytes += stamp.size
    }

    mutating func touch(_ name: String) {
        guard entries[name] != nil else { return }
        clock += 1
        entries[name]?.lastUse = clock
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
        for (name, _) in entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) where !keep.contains(name) {
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
