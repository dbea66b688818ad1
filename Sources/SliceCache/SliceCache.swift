//===----------------------------------------------------------------------===//
// ImageGate: the node-local read cache of object-store slices: LRU under a size cap, one fetch per cold slice,
// every slice verified against its recorded SHA-256 before it is served (Docs/object-storage.md "Read cache").
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import Synchronization
import SystemIO

/// Slices of stored objects kept as files under `cache.dir`. Shared by every front and thread.
///
/// - A request needs a slice that is not local: one fetch per slice on a dedicated thread (single flight: later
///   requests for the same slice wait on that fetch instead of starting their own; at most `maxFetchThreads`
///   at once), never Swift's cooperative pool.
/// - A fetched slice goes to a `.part-` file, is checked (length and SHA-256) and only then renamed in.
/// - A cached slice is hashed again when first opened after a restart, or when its file's length or mtime is
///   not what the index recorded; a mismatch drops it and fetches it again. It is never served unchecked.
/// - Over `maxBytes` (a soft cap), least recently used slices are deleted; a reader that has one open keeps
///   reading it (unlink after open), so a response in progress is never cut by an eviction.
public final class SliceCache: Sendable {
    public static let defaultSliceBytes: UInt64 = 16 << 20
    /// A fetched slice that fails its check is fetched once more before the request gets an error.
    static let fetchAttempts = 2

    public let maxBytes: UInt64
    /// How long a blocking read (FTP, SFTP) waits for a slice before it fails `unavailable` (`blobs.timeout`);
    /// the fetch itself goes on and may still fill the cache for later requests.
    public let waitTimeoutMs: Int64
    /// Fetches running at once, each on its own thread; more wait in a queue.
    public let maxFetchThreads: Int
    /// How many slices past the one being sent a download fetches ahead (within its range; `cache.readahead_slices`).
    /// Fewer for an object whose slices are so large that the cap would not hold them (`readAhead(for:)`).
    public let readAheadSlices: Int
    /// A slice file a reader holds open is `fstat`ed before it is served again, at most this often per handle.
    public let heldCheckIntervalNs: Int64
    /// The index's use clock (readers mark held slices used on it without the lock).
    let clock: SliceUseClock
    /// Bumped whenever a slice leaves the index or a fetch fails: a reader asks for a read-ahead of a slice once
    /// per value (`SliceReader.readAhead`), so a slice it asked for that is gone since is asked for again.
    let losses = Atomic<UInt64>(0)
    let files: SliceFiles
    let source: any SliceSource
    let logger: Logger

    private struct Flight: Sendable {
        let name: String
        let object: SlicedObject
        let index: Int
        /// Started by a read-ahead, with nobody waiting for it then.
        var ahead = false
    }
    private struct State {
        var index: SliceIndex
        /// Slices being fetched or verified (or queued for it), with the callbacks waiting for them (none for a
        /// read-ahead no request has joined yet).
        var flights: [String: [@Sendable (GateError?) -> Void]] = [:]
        /// Flights waiting for a fetch thread, oldest first.
        var queued: [Flight] = []
        var fetchThreads = 0
    }
    private let state: Mutex<State>

    /// Opens (or creates) the cache in `directory`: the index is rebuilt from the slice files there, partial
    /// downloads are deleted, and the least recently used slices go if the files exceed `maxBytes`.
    /// `sliceBytes` is `cache.slice_bytes`, only checked against `maxBytes` here: each object is cut at the
    /// slice size its digests were recorded with.
    public init(
        directory: String, maxBytes: UInt64, source: any SliceSource, sliceBytes: UInt64 = defaultSliceBytes,
        waitTimeoutMs: Int64 = 10_000, maxFetchThreads: Int = 32, readAheadSlices: Int = 2,
        heldCheckIntervalNs: Int64 = 1_000_000, logger: Logger = Logger()
    ) throws(GateError) {
        guard sliceBytes > 0, maxBytes / 4 >= sliceBytes else {
            throw .usage(
                "cache.max_bytes (\(maxBytes)) must hold at least 4 slices of cache.slice_bytes (\(sliceBytes))")
        }
        self.maxBytes = maxBytes
        self.waitTimeoutMs = waitTimeoutMs
        self.maxFetchThreads = max(1, maxFetchThreads)
        self.readAheadSlices = max(0, readAheadSlices)
        self.heldCheckIntervalNs = max(0, heldCheckIntervalNs)
        self.files = SliceFiles(directory: directory)
        self.source = source
        self.logger = logger
        try files.makeDirectory()
        var index = SliceIndex(found: try files.scan())
        clock = index.clock
        let victims = index.evictions(toFit: maxBytes, keep: [])
        for name in victims { files.remove(name) }
        if !victims.isEmpty { losses.add(1, ordering: .relaxed) }
        state = Mutex(State(index: index))
        logger.info("read cache \(directory): \(index.count) slices, \(index.totalBytes) bytes (cap \(maxBytes))")
    }

    /// A reader of `object` through this cache (nothing is fetched until bytes are asked for).
    public func reader(for object: SlicedObject) -> any BlobReader { SliceReader(object: object, cache: self) }

    /// Bytes and slice files in the cache now (for tests and the start-up line).
    public var cachedBytes: UInt64 { state.withLock { $0.index.totalBytes } }
    public var cachedSlices: Int { state.withLock { $0.index.count } }

    /// Requests waiting on the fetch of `object`'s slice `index` (0 when none runs): lets a test release a held
    /// fetch once every reader joined it, instead of sleeping.
    func waiting(_ object: SlicedObject, _ index: Int) -> Int {
        let name = SliceFiles.name(key: object.key, sliceBytes: object.sliceBytes, index: index)
        return state.withLock { $0.flights[name]?.count ?? 0 }
    }

    /// Whether a fetch of `object`'s slice `index` runs or waits for a thread (tests).
    func inFlight(_ object: SlicedObject, _ index: Int) -> Bool {
        let name = SliceFiles.name(key: object.key, sliceBytes: object.sliceBytes, index: index)
        return state.withLock { $0.flights[name] != nil }
    }

    /// Slices fetched ahead for `object`: `readAheadSlices`, but at most half of what `maxBytes` holds of its
    /// slices. A slice fetched ahead N slices early counts as used when it arrives, which may be before the
    /// last use of the N slices the download sends until it gets there; only a slice more than N behind is
    /// surely older. So a download alone in a small cache keeps its N slices ahead only when the cap holds 2N
    /// (the N ahead and the N behind them; the oldest goes first), else it would evict a slice it fetched
    /// ahead before reaching it and fetch it twice.
    func readAhead(for object: SlicedObject) -> Int {
        guard object.sliceBytes > 0 else { return 0 }
        return min(readAheadSlices, Int(min(maxBytes / object.sliceBytes, 1 << 20)) / 2)
    }

    // MARK: used by SliceReader

    /// The slice's file, opened, when it is cached and known good; nil when it must be fetched or checked first.
    func openWarm(_ object: SlicedObject, _ index: Int, name: String) -> SliceHandle? {
        guard let entry = state.withLock({ $0.index[name] }), entry.verified else { return nil }
        let opened: (fd: Int32, stamp: SliceStamp)?
        do {
            opened = try files.openForReading(name)
        } catch {
            // Not gone, only not openable now (out of descriptors, say): the entry stays (the file still counts
            // against cache.max_bytes) and this read takes the fetch path, which checks the file again there.
            logger.warning("read cache: cannot open slice \(name): \(error.reason)")
            return nil
        }
        guard let (fd, stamp) = opened else {
            // Deleted behind our back (or evicted just now): forget it; a fetch brings it back.
            state.withLock { s in if s.index[name]?.stamp == entry.stamp { s.index.remove(name) } }
            losses.add(1, ordering: .relaxed)
            return nil
        }
        guard stamp.size == object.slice(index).length, stamp.sameFile(as: entry.stamp) else {
            Sys.close(fd)
            logger.warning("read cache: slice \(name) changed on disk (length or mtime); checking it again")
            state.withLock { $0.index.markUnverified(name) }
            losses.add(1, ordering: .relaxed)
            return nil
        }
        entry.use.mark(clock)
        Metrics.add(CacheMetrics.hits)
        return SliceHandle(fd: fd, name: name, stamp: entry.stamp, use: entry.use, checkedAt: Monotonic.nanoseconds())
    }

    /// Whether a slice file a reader holds open still has the length and mtime it was checked with: one
    /// `fstat`, at most once per `heldCheckIntervalNs` per handle (a response asks before every `sendfile`, and
    /// an HTTP turn asks twice); a changed one is marked for checking again, as `openWarm` does for a file it
    /// opens.
    func unchanged(_ handle: SliceHandle) -> Bool {
        let now = Monotonic.nanoseconds()
        if now - handle.checkedAt.load(ordering: .relaxed) < heldCheckIntervalNs { return true }
        if let st = try? FileIO.status(of: handle.fd), SliceStamp(st).sameFile(as: handle.stamp) {
            handle.checkedAt.store(now, ordering: .relaxed)
            return true
        }
        logger.warning("read cache: slice \(handle.name) changed on disk (length or mtime); checking it again")
        state.withLock { s in if s.index[handle.name]?.stamp == handle.stamp { s.index.markUnverified(handle.name) } }
        losses.add(1, ordering: .relaxed)
        return false
    }

    /// Starts bringing slice `index` in when it is not local and good, waiting for nothing (read-ahead). true
    /// when the slice is local, being fetched, or its fetch started now; false when every fetch thread is busy:
    /// a read-ahead never waits in the queue (where it would hold up the first slice of another download, which
    /// a request is waiting for), the reader asks again at its next write turn.
    func fetchAhead(_ object: SlicedObject, _ index: Int, name: String) -> Bool {
        enum Start { case done, busy, started }
        let start = state.withLock { s -> Start in
            if s.index[name]?.verified == true || s.flights[name] != nil { return .done }
            guard s.fetchThreads < maxFetchThreads else { return .busy }
            s.flights[name] = []
            s.fetchThreads += 1
            return .started
        }
        switch start {
        case .done: return true
        case .busy: return false
        case .started:
            Metrics.add(CacheMetrics.readAheads)
            spawnFetcher(Flight(name: name, object: object, index: index, ahead: true))
            return true
        }
    }

    /// Marks a slice used (a reader served it from a descriptor it already held): one atomic store, no lock.
    func touch(_ handle: SliceHandle) { handle.use.mark(clock) }

    /// Whether `name` is still in the cache (a reader holding an evicted slice asks to be reopened).
    func contains(_ name: String) -> Bool { state.withLock { $0.index[name] != nil } }

    /// Makes slice `index` local and good, then calls `ready` once (nil, or the error). Joins a fetch of the
    /// same slice already under way instead of starting another.
    /// A read-ahead (`countMiss` false) is not a request's miss.
    func materialize(
        _ object: SlicedObject, _ index: Int, name: String, countMiss: Bool = true,
        then ready: @escaping @Sendable (GateError?) -> Void
    ) {
        if countMiss { Metrics.add(CacheMetrics.misses) }
        let start = state.withLock { s -> Bool in
            if s.flights[name] != nil {
                s.flights[name]!.append(ready)
                return false
            }
            s.flights[name] = [ready]
            // At most `maxFetchThreads` fetches run; the others wait their turn (a cold start with many
            // downloads at once must not become hundreds of threads and connections to the store).
            guard s.fetchThreads < maxFetchThreads else {
                s.queued.append(Flight(name: name, object: object, index: index))
                return false
            }
            s.fetchThreads += 1
            return true
        }
        guard start else { return }
        spawnFetcher(Flight(name: name, object: object, index: index))
    }

    /// One fetch thread (its slot in `fetchThreads` already taken): `first`, then queued flights until none is left.
    private func spawnFetcher(_ first: Flight) {
        _ = OSThread.spawn(name: "slice-fetch") { [self] in
            var next: Flight? = first
            while let flight = next {
                var failure: GateError?
                do throws(GateError) {
                    try bringIn(flight.name, flight.object, flight.index)
                } catch {
                    failure = error
                }
                if failure != nil { losses.add(1, ordering: .relaxed) }
                let waiters = state.withLock { s -> [@Sendable (GateError?) -> Void] in
                    // A read-ahead that failed after requests joined it: they get a fetch of their own on this
                    // thread (the flight stays, so single flight holds), not the error of a fetch none of them
                    // started. A failed read-ahead nobody waits for only leaves its slice cold.
                    if failure != nil, flight.ahead, s.flights[flight.name]?.isEmpty == false {
                        next = Flight(name: flight.name, object: flight.object, index: flight.index)
                        return []
                    }
                    let w = s.flights.removeValue(forKey: flight.name) ?? []
                    if s.queued.isEmpty {
                        s.fetchThreads -= 1
                        next = nil
                    } else {
                        next = s.queued.removeFirst()
                    }
                    return w
                }
                for w in waiters { w(failure) }
            }
        }
    }

    // MARK: the fetch thread

    /// Checks a cached file that is not known good (keeping it when it matches), else fetches the slice.
    private func bringIn(_ name: String, _ object: SlicedObject, _ index: Int) throws(GateError) {
        let expected = object.slice(index).length
        if state.withLock({ $0.index[name] }) != nil {
            let opened: (fd: Int32, stamp: SliceStamp)?
            do {
                opened = try files.openForReading(name)
            } catch {
                throw GateError.io("read cache: cannot open slice \(name): \(error.reason)")
            }
            if let (fd, stamp) = opened {
                defer { Sys.close(fd) }
                let digest = try? SliceFiles.digest(of: fd)
                if let digest, digest.length == expected, digest.hex == object.sliceSHA256[index] {
                    state.withLock { $0.index.markVerified(name, stamp: stamp) }
                    return
                }
                Metrics.add(CacheMetrics.corrupt)
                logger.warning(
                    "read cache: slice \(name) does not match its recorded length or SHA-256: fetching it again")
            }
            state.withLock { _ = $0.index.remove(name) }
            files.remove(name)
            losses.add(1, ordering: .relaxed)
        }
        var attempt = 1
        while true {
            do throws(GateError) {
                return try fetch(name, object, index)
            } catch {
                // Only a slice that arrived wrong is worth another try at once; a store that failed is not.
                guard error.code == .io, attempt < Self.fetchAttempts else { throw error }
                attempt += 1
            }
        }
    }

    /// One Range GET into a partial file, hashed as it arrives, checked, renamed in, then eviction down to the
    /// cap. The bytes are written and hashed in one pass (never read back from the file).
    private func fetch(_ name: String, _ object: SlicedObject, _ index: Int) throws(GateError) {
        let (offset, length) = object.slice(index)
        let (fd, part) = try files.createPart(for: name)
        defer { Sys.close(fd) }
        let keyHash = SliceFiles.keyHash(ofName: name)
        let started = Monotonic.nanoseconds()
        var writer = SliceWriter(fd: fd, expected: length)
        do throws(GateError) {
            try source.fetchRange(key: object.key, offset: offset, length: length) { writer.write($0) }
        } catch {
            FileIO.remove(part)
            if let failure = writer.failure { throw failure }
            if writer.tooLong { return try refuse(part: nil, index, keyHash, "has more than \(length) bytes") }
            let ms = (Monotonic.nanoseconds() - started) / 1_000_000
            Metrics.add(CacheMetrics.fetchFailures)
            logger.debug(
                "store GET key=\(keyHash) slice=\(index) range=\(offset)-\(offset + length - 1) status=failed ms=\(ms): \(error.message)"
            )
            // The store failed or did not answer in time: the request may be retried (HTTP 503, FTP 451).
            throw error.code == .io ? .unavailable(error.message) : error
        }
        let seconds = Double(Monotonic.nanoseconds() - started) / 1e9
        Metrics.observe(CacheMetrics.fetchSeconds, seconds)
        logger.debug(
            "store GET key=\(keyHash) slice=\(index) range=\(offset)-\(offset + length - 1) status=ok ms=\(Int(seconds * 1000))"
        )
        if let failure = writer.failure {
            FileIO.remove(part)
            throw failure
        }
        let digest = writer.finish()
        Metrics.add(CacheMetrics.fetchedBytes, Double(digest.length))
        guard digest.length == length, digest.hex == object.sliceSHA256[index] else {
            let what =
                digest.length == length
                ? "does not match its recorded SHA-256" : "has \(digest.length) bytes, not \(length)"
            return try refuse(part: part, index, keyHash, what)
        }
        let st: FileStatus
        do {
            st = try FileIO.status(of: fd)
        } catch {
            FileIO.remove(part)
            throw .io("cannot stat a fetched slice: \(error.reason)")
        }
        try files.publish(part: part, as: name)
        let victims = state.withLock { s in
            s.index.insert(name, stamp: SliceStamp(st), verified: true)
            return s.index.evictions(toFit: maxBytes, keep: Set(s.flights.keys))
        }
        if !victims.isEmpty { losses.add(1, ordering: .relaxed) }
        for v in victims {
            files.remove(v)
            Metrics.add(CacheMetrics.evictions)
            logger.debug("read cache: evicted \(v)")
        }
    }

    /// A fetched slice that is not what was recorded: never cached, counted, and an `.io` error (one more try).
    private func refuse(part: String?, _ index: Int, _ keyHash: Substring, _ what: String) throws(GateError) {
        if let part { FileIO.remove(part) }
        Metrics.add(CacheMetrics.corrupt)
        logger.warning("read cache: slice \(index) of object \(keyHash) from the store \(what); not cached")
        throw .io("slice \(index) of object \(keyHash) from the store \(what)")
    }
}
