//===----------------------------------------------------------------------===//
// ImageGate: open blob readers kept between requests (nginx's open_file_cache), so a keep-alive range
// request costs read + send + sendfile, not open + fstat + close on top.
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import ImageCatalog
import Synchronization
import SystemIO

/// Blob readers (the blob store's: descriptors for the local store) keyed by image and generation, shared by
/// every event loop.
///
/// Why a cached descriptor never serves bytes it should not:
/// - A request only gets here after `DownloadAuthorizer` matched its token against the catalog (at most
///   `AuthorizationCache.ttlMs` ago): image available, same generation. Delete, restore and purge bump or end
///   the generation, so the old key is never asked for again once that window has passed.
/// - An entry is re-checked (`BlobReader.isCurrent`: for a local blob one `stat`, same inode, same size) when it
///   is older than `validMs`, both on use and in `sweep`; a blob replaced or removed behind the catalog's back
///   (another process, an operator) is reopened or dropped within that time.
/// - `sweep` (driven by the event loops' once-a-second tick, with or without traffic) closes entries unused for
///   `inactiveMs` and entries whose path no longer names their file, so a destroyed image's descriptor does not
///   keep its disk space allocated; at most `maxEntries` stay open (least recently used goes first).
/// A response keeps its reader alive until it is done, so dropping an entry never cuts a transfer.
final class OpenFileCache: Sendable {
    typealias Key = BlobVersion
    private struct Entry {
        let file: any BlobReader
        var checkedMs: Int64
        var usedMs: Int64
    }
    private let entries = Mutex<[Key: Entry]>([:])
    private let lastSweepMs = Atomic<Int64>(Int64.min)
    let validMs: Int64
    let inactiveMs: Int64
    let maxEntries: Int

    init(validMs: Int64 = 1000, inactiveMs: Int64 = 10_000, maxEntries: Int = 256) {
        self.validMs = validMs
        self.inactiveMs = inactiveMs
        self.maxEntries = maxEntries
    }

    var count: Int { entries.withLock { $0.count } }

    /// The open blob for `key`: cached and recently checked, re-checked (`isCurrent`), or opened afresh with
    /// `open` (the blob store's `openReader`).
    func file(
        for key: Key, nowMs: Int64, open: () throws(GateError) -> any BlobReader
    ) throws(GateError) -> any BlobReader {
        let cached: (any BlobReader)? = entries.withLock { map in
            // One hash lookup per request: the entry is updated in place through its index.
            guard let i = map.index(forKey: key) else { return nil }
            map.values[i].usedMs = nowMs
            let e = map.values[i]
            return nowMs - e.checkedMs < validMs ? e.file : nil
        }
        if let cached { return cached }
        // Missing or due for a check: the syscalls run outside the lock.
        let stale = entries.withLock { $0[key]?.file }
        if let stale, stale.isCurrent() {
            entries.withLock { map in map[key]?.checkedMs = nowMs }
            return stale
        }
        let fresh = try open()
        entries.withLock { map in
            // Older generations of the same image are never asked for again.
            for k in map.keys where k.image == key.image && k.generation != key.generation { map[k] = nil }
            if map[key] == nil && map.count >= maxEntries,
                let oldest = map.min(by: { $0.value.usedMs < $1.value.usedMs })
            {
                map[oldest.key] = nil
            }
            map[key] = Entry(file: fresh, checkedMs: nowMs, usedMs: nowMs)
        }
        return fresh
    }

    /// Drops every descriptor of `image` (the catalog said it is gone or changed).
    func evict(image: ImageID) {
        entries.withLock { map in
            for k in map.keys where k.image == image { map[k] = nil }
        }
    }

    /// Closes inactive entries and those whose path no longer names their file. Cheap when called by several
    /// loops: at most one sweep per `validMs`.
    func sweep(nowMs: Int64) {
        let last = lastSweepMs.load(ordering: .relaxed)
        guard last == Int64.min || nowMs - last >= validMs,
            lastSweepMs.compareExchange(expected: last, desired: nowMs, ordering: .relaxed).exchanged
        else { return }
        var toCheck: [(Key, any BlobReader)] = []
        entries.withLock { map in
            for (k, e) in map {
                if nowMs - e.usedMs >= inactiveMs {
                    map[k] = nil
                } else if nowMs - e.checkedMs >= validMs {
                    toCheck.append((k, e.file))
                }
            }
        }
        for (k, file) in toCheck {
            let still = file.isCurrent()
            entries.withLock { map in
                // Only the entry that was checked: a concurrent reopen may have put a new file there.
                guard let e = map[k], e.file === file else { return }
                if still { map[k]?.checkedMs = nowMs } else { map[k] = nil }
            }
        }
    }
}
