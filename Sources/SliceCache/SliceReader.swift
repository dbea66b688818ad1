//===----------------------------------------------------------------------===//
// ImageGate: one object read through the slice cache: extents are slice files, fetched when cold.
//===----------------------------------------------------------------------===//
import Dispatch
import GateCore
import Synchronization
import SystemIO

/// One open slice file; the descriptor closes when the last reference goes (the reader's table, or an extent
/// a front is sending from).
final class SliceHandle: Sendable {
    let fd: Int32
    let name: String
    /// Length and mtime the index recorded when the slice was checked: a held descriptor is served again only
    /// while its file still has them (Docs/object-storage.md, "Verification").
    let stamp: SliceStamp
    /// The index entry's last use, marked without the cache's lock.
    let use: SliceUse
    /// When `stamp` was last compared with the open file (`SliceCache.unchanged`).
    let checkedAt: Atomic<Int64>
    init(fd: Int32, name: String, stamp: SliceStamp, use: SliceUse, checkedAt: Int64) {
        self.fd = fd
        self.name = name
        self.stamp = stamp
        self.use = use
        self.checkedAt = Atomic(checkedAt)
    }
    deinit { Sys.close(fd) }
}

/// A `BlobReader` over a `SlicedObject`. It keeps the slice files it opened most recently (at most
/// `maxOpenSlices`; an image of thousands of slices must not hold thousands of descriptors), and hands each
/// extent its slice's handle, so a descriptor is closed only when no response is reading from it. An eviction
/// never pulls bytes from under a response (unlink after open); `isCurrent` turns false once a slice it holds
/// was evicted, so the open-file cache drops the reader and the disk space comes back with the last response.
final class SliceReader: PreparableBlobReader {
    /// 128 slices of 16 MiB: random ranges anywhere in a 2 GiB image never reopen a slice file.
    static let maxOpenSlices = 128

    let object: SlicedObject
    let cache: SliceCache
    /// File names of this object's slices (the key's hash computed once).
    let names: SliceNames
    /// The slice handles this reader holds, by slice index. Which one goes first beyond the limit is decided by
    /// the cache's use clock the handles already carry (`SliceUse`, marked on every use), so a use of a held slice
    /// is one dictionary lookup under the lock and nothing is written here.
    private struct Open {
        var handles: [Int: SliceHandle] = [:]

        /// Keeps `handle` unless another thread got there first; returns the one kept. Drops the least recently
        /// used beyond the limit (its descriptor closes when the extents using it are done).
        mutating func keep(_ index: Int, _ handle: SliceHandle) -> SliceHandle {
            if let existing = handles[index] { return existing }
            handles[index] = handle
            if handles.count > SliceReader.maxOpenSlices,
                let oldest = handles.min(by: { $0.value.use.last < $1.value.use.last })
            {
                handles[oldest.key] = nil
            }
            return handle
        }
    }
    private let open = Mutex(Open())
    /// Slices a read-ahead was started for through this reader (at most one entry per slice of the object), with
    /// the cache's `losses` count when it was: a response asks on every write turn, and only the first ask per
    /// slice may cost more than this lookup, until some slice left the cache or a fetch failed since (then the
    /// slice may be gone, and is asked for again: the open-file cache keeps a reader across downloads). Per
    /// slice, not a high-water mark: one reader serves every download of the image, and a download behind
    /// another still needs its own next slice.
    private let readAheadAsked = Mutex([Int: UInt64]())
    /// Slices fetched ahead of the one being sent (`SliceCache.readAhead(for:)`).
    private let readAheadSlices: Int
    /// A record that cannot be served from (no slice size, digests missing): every read fails with this.
    private let broken: GateError?

    init(object: SlicedObject, cache: SliceCache) {
        self.object = object
        self.cache = cache
        names = SliceNames(key: object.key, sliceBytes: object.sliceBytes)
        readAheadSlices = cache.readAhead(for: object)
        do throws(GateError) {
            try object.validate()
            broken = nil
        } catch {
            broken = error
        }
    }

    var size: UInt64 { object.size }

    func prepare(at offset: UInt64, then ready: @escaping @Sendable (GateError?) -> Void) -> Bool {
        if let broken {
            ready(broken)
            return false
        }
        // Nothing to fetch at or past the end (`extent` refuses such an offset).
        guard offset < object.size else { return true }
        let index = Int(offset / object.sliceBytes)
        if local(index) != nil { return true }
        cache.materialize(object, index, name: names.name(index), then: ready)
        return false
    }

    func readAhead(at offset: UInt64, end: UInt64) {
        guard broken == nil, readAheadSlices > 0 else { return }
        let current = Int(offset / object.sliceBytes)
        let limit = min(end, object.size)
        let losses = cache.losses.load(ordering: .relaxed)
        for next in (current + 1)...(current + readAheadSlices) {
            // Never past the range (nor the object's end).
            guard UInt64(next) * object.sliceBytes < limit else { return }
            guard readAheadAsked.withLock({ $0[next] != losses }) else { continue }
            // A slice already local or being fetched costs one index lookup; a busy cache (every fetch thread in
            // use) starts nothing and is asked again at the next turn.
            if cache.fetchAhead(object, next, name: names.name(next)) {
                readAheadAsked.withLock { $0[next] = losses }
            }
        }
    }

    /// The slice's open handle when it is local now (held, or opened from the cache); nil when it is not.
    private func local(_ index: Int) -> SliceHandle? {
        if let h = open.withLock({ $0.handles[index] }) {
            if cache.unchanged(h) {
                // Served from a descriptor this reader holds: still a use, or a hot slice would age out of the LRU.
                cache.touch(h)
                return h
            }
            // Changed on disk since it was checked: let it go; openWarm refuses it until it is checked again.
            open.withLock { o in if o.handles[index] === h { o.handles[index] = nil } }
        }
        guard let handle = cache.openWarm(object, index, name: names.name(index)) else { return nil }
        return open.withLock { $0.keep(index, handle) }
    }

    /// Blocks until the slice holding `offset` is local (FTP and SFTP threads; the HTTP writer calls
    /// `prepare` first, so for it the slice is normally local here).
    func extent(at offset: UInt64, maxLength: UInt64) throws(GateError) -> BlobExtent {
        if let broken { throw broken }
        guard offset < object.size else {
            throw .internal("read at \(offset) past the end of a \(object.size)-byte object")
        }
        let index = Int(offset / object.sliceBytes)
        var attempts = 0
        while true {
            if let handle = local(index) {
                let within = offset - UInt64(index) * object.sliceBytes
                let length = min(maxLength, object.slice(index).length - within)
                return BlobExtent(fd: handle.fd, offset: within, length: length, owner: handle)
            }
            // Evicted again between the fetch and this open (a cap far too small for the load): a few tries.
            attempts += 1
            guard attempts <= 3 else {
                throw .unavailable("read cache: slice \(index) of an object was evicted before it could be read")
            }
            let waiter = SliceWait()
            cache.materialize(object, index, name: names.name(index)) { waiter.finish($0) }
            if let error = waiter.wait(timeoutMs: cache.waitTimeoutMs) { throw error }
        }
    }

    /// Slice files this reader holds open now (tests).
    var openSlices: Int { open.withLock { $0.handles.count } }
    /// Whether this reader holds slice `index` open now (tests).
    func holds(_ index: Int) -> Bool { open.withLock { $0.handles[index] != nil } }

    func isCurrent() -> Bool {
        let held = open.withLock { $0.handles.values.map(\.name) }
        return held.allSatisfy { cache.contains($0) }
    }
}

/// One blocking wait for a `ready` callback.
private final class SliceWait: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<GateError?>(nil)

    func finish(_ error: GateError?) {
        result.withLock { $0 = error }
        done.signal()
    }

    func wait(timeoutMs: Int64) -> GateError? {
        if done.wait(timeout: .now() + .milliseconds(Int(timeoutMs))) == .timedOut {
            return .unavailable("the object store did not answer within \(timeoutMs) ms")
        }
        return result.withLock { $0 }
    }
}
