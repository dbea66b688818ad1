//===----------------------------------------------------------------------===//
// ImageGate: the read cache with a counting in-memory store: single flight, verification, eviction, restart.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import Synchronization
import SystemIO
import Testing
import TestSupport

@testable import SliceCache

/// Reads `length` bytes from `offset` through the reader's extents (what the fronts do, with pread for sendfile).
func readThrough(_ reader: any BlobReader, offset: UInt64 = 0, length: UInt64? = nil) throws -> [UInt8] {
    let end = offset + (length ?? reader.size - offset)
    var out: [UInt8] = []
    var at = offset
    while at < end {
        let e = try reader.extent(at: at, maxLength: end - at)
        var chunk = [UInt8](repeating: 0, count: Int(e.length))
        let n = chunk.withUnsafeMutableBytes { pread(e.fd, $0.baseAddress, $0.count, off_t(e.offset)) }
        guard n == Int(e.length) else { throw TestFailure("short pread: \(n) of \(e.length)") }
        out += chunk
        at += e.length
    }
    return out
}

/// Slice files in the cache directory (partial downloads included, so a leftover shows).
func filesIn(_ dir: TemporaryDirectory) -> [String] {
    guard let d = opendir(dir.path) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

@Suite struct SliceCacheTests {
    static let slice: UInt64 = 4096

    struct Fixture {
        let dir: TemporaryDirectory
        let source = CountingSource()
        let bytes: [UInt8]
        let object: SlicedObject

        /// 5.5 slices of seeded bytes: the last slice is short.
        init(seed: UInt64 = 1) throws {
            dir = try TemporaryDirectory(prefix: "slicecache")
            var random = SeededRandom(seed: seed)
            bytes = random.bytes(Int(SliceCacheTests.slice) * 5 + 2048)
            object = source.put("p/images/img-1/1", bytes, sliceBytes: SliceCacheTests.slice)
        }

        func cache(maxSlices: UInt64 = 16, readAheadSlices: Int = 2, heldCheckIntervalNs: Int64 = 1_000_000) throws
            -> SliceCache
        {
            try SliceCache(
                directory: dir.path, maxBytes: maxSlices * SliceCacheTests.slice, source: source,
                sliceBytes: SliceCacheTests.slice, waitTimeoutMs: 120_000, readAheadSlices: readAheadSlices,
                heldCheckIntervalNs: heldCheckIntervalNs, logger: Logger(minimum: .error))
        }
    }

    @Test("a cold read fetches only the slices asked for, byte-identical; a warm read fetches nothing")
    func coldThenWarm() throws {
        let f = try Fixture()
        let cache = try f.cache()
        let reader = cache.reader(for: f.object)
        #expect(reader.size == UInt64(f.bytes.count))
        // A range across the boundary of slices 1 and 2.
        let part = try readThrough(reader, offset: 5000, length: 5000)
        #expect(part == Array(f.bytes[5000..<10000]))
        #expect(f.source.ranges.map(\.offset) == [4096, 8192])
        #expect(f.source.ranges.allSatisfy { $0.length == Self.slice })
        let whole = try readThrough(cache.reader(for: f.object))
        #expect(whole == f.bytes)
        #expect(f.source.fetches == 6)
        #expect(f.source.ranges.last?.length == 2048)  // the short last slice is asked for as it is
        #expect(try readThrough(cache.reader(for: f.object)) == f.bytes)
        #expect(f.source.fetches == 6)
        #expect(cache.cachedBytes == UInt64(f.bytes.count) && cache.cachedSlices == 6)
    }

    @Test("read-ahead fetches the next slice of a range, once; nothing for a range inside one slice or at the end")
    func readAhead() throws {
        let f = try Fixture()
        let cache = try f.cache(readAheadSlices: 1)
        guard let reader = cache.reader(for: f.object) as? any PreparableBlobReader else {
            Issue.record("a cache reader can be prepared")
            return
        }
        // A range that ends inside slice 0 needs nothing more.
        reader.readAhead(at: 100, end: 4000)
        // The last slice has no next one.
        reader.readAhead(at: Self.slice * 5 + 10, end: UInt64(f.bytes.count))
        #expect(f.source.fetches == 0)
        // A range reaching into slice 1: slice 1 is fetched ahead, without anyone waiting for it.
        reader.readAhead(at: 100, end: 5000)
        try waitUntil("slice 1 fetched ahead") { cache.cachedSlices == 1 }
        #expect(f.source.ranges.map(\.offset) == [Self.slice])
        // Asked again on the next write turn: no second fetch.
        reader.readAhead(at: 2000, end: 5000)
        #expect(try readThrough(reader, offset: Self.slice, length: 100) == Array(f.bytes[4096..<4196]))
        #expect(f.source.fetches == 1)
        // Two downloads share one reader (the open-file cache): one reading slice 3 asks for slice 4, and one
        // behind it, reading slice 1, still gets slice 2 fetched ahead.
        reader.readAhead(at: Self.slice * 3 + 1, end: UInt64(f.bytes.count))
        try waitUntil("slice 4 fetched ahead") { cache.cachedSlices == 2 }
        reader.readAhead(at: Self.slice + 1, end: UInt64(f.bytes.count))
        try waitUntil("slice 2 fetched ahead") { cache.cachedSlices == 3 }
        #expect(f.source.ranges.map(\.offset) == [Self.slice, Self.slice * 4, Self.slice * 2])
    }

    @Test("50 concurrent readers of one cold slice: one fetch, every reader gets the bytes")
    func singleFlight() throws {
        let f = try Fixture()
        let cache = try f.cache()
        f.source.hold()
        let results = Mutex<[[UInt8]]>([])
        var threads: [OSThread] = []
        for _ in 0..<50 {
            threads.append(
                OSThread.spawn(name: "reader") {
                    let got = (try? readThrough(cache.reader(for: f.object), offset: 8192 + 100, length: 1000)) ?? []
                    results.withLock { $0.append(got) }
                })
        }
        // Every reader is waiting on the same fetch before the store answers.
        try waitUntil("50 readers joined the fetch") { cache.waiting(f.object, 2) == 50 }
        // Its thread may only now reach the store (a loaded machine); it is the only one that does.
        try waitUntil("the fetch reached the store") { f.source.fetches >= 1 }
        #expect(f.source.fetches == 1)
        f.source.release()
        for t in threads { t.join() }
        #expect(f.source.fetches == 1)
        let expected = Array(f.bytes[8292..<9292])
        #expect(results.withLock { $0.count == 50 && $0.allSatisfy { $0 == expected } })
    }

    @Test("at most maxFetchThreads fetches run at once; the others queue and every reader still gets its bytes")
    func fetchThreadCap() throws {
        let f = try Fixture()
        let cache = try SliceCache(
            directory: f.dir.path, maxBytes: 16 * Self.slice, source: f.source, sliceBytes: Self.slice,
            waitTimeoutMs: 120_000, maxFetchThreads: 2, logger: Logger(minimum: .error))
        f.source.hold()
        var threads: [OSThread] = []
        let results = Mutex<[Int: [UInt8]]>([:])
        for slice in 0..<6 {
            threads.append(
                OSThread.spawn(name: "reader") {
                    let got = try? readThrough(
                        cache.reader(for: f.object), offset: UInt64(slice) * Self.slice, length: 100)
                    results.withLock { $0[slice] = got }
                })
        }
        // Six readers of six cold slices: each waits on its own flight, but only two reached the store.
        try waitUntil("six flights") { (0..<6).allSatisfy { cache.waiting(f.object, $0) == 1 } }
        try waitUntil("two fetches at the store") { f.source.fetches == 2 }
        f.source.release()
        for t in threads { t.join() }
        #expect(f.source.fetches == 6)
        for slice in 0..<6 {
            let start = slice * Int(Self.slice)
            #expect(results.withLock { $0[slice] } == Array(f.bytes[start..<start + 100]))
        }
    }

    @Test("prepare: false and one ready call for a cold slice, true once it is local")
    func prepare() throws {
        let f = try Fixture()
        let cache = try f.cache()
        let reader = try #require(cache.reader(for: f.object) as? any PreparableBlobReader)
        let calls = Mutex<[GateError?]>([])
        #expect(!reader.prepare(at: 0) { e in calls.withLock { $0.append(e) } })
        try waitUntil("ready") { calls.withLock { !$0.isEmpty } }
        #expect(calls.withLock { $0.count == 1 && $0[0] == nil })
        #expect(reader.prepare(at: 10) { _ in Issue.record("ready called for a local slice") })
        // Another reader of the same object finds the slice warm too.
        #expect(cache.reader(for: f.object).size == UInt64(f.bytes.count))
        let other = try #require(cache.reader(for: f.object) as? any PreparableBlobReader)
        #expect(other.prepare(at: 4095) { _ in Issue.record("ready called for a warm slice") })
        #expect(f.source.fetches == 1)
    }

    @Test("a fetched slice with the wrong bytes is fetched again and never cached wrong")
    func corruptFetchRetried() throws {
        let f = try Fixture()
        let cache = try f.cache()
        f.source.inject(.corrupt, times: 1)
        #expect(try readThrough(cache.reader(for: f.object), length: 100) == Array(f.bytes[0..<100]))
        #expect(f.source.fetches == 2)
        // Wrong twice in a row: an error, and nothing in the cache or the directory.
        f.source.inject(.corrupt, times: 2)
        #expect(throws: GateError.self) { try readThrough(cache.reader(for: f.object), offset: 4096, length: 10) }
        #expect(cache.cachedSlices == 1)
        #expect(filesIn(f.dir).count == 1)
    }

    @Test("a store answer of the wrong length is not cached; the next read fetches again")
    func wrongLength() throws {
        let f = try Fixture()
        let cache = try f.cache()
        f.source.inject(.short, times: 2)
        #expect {
            try readThrough(cache.reader(for: f.object), length: 10)
        } throws: { ($0 as? GateError)?.message.contains("4095 bytes, not 4096") == true }
        #expect(cache.cachedSlices == 0 && filesIn(f.dir).isEmpty)
        #expect(try readThrough(cache.reader(for: f.object), length: 10) == Array(f.bytes[0..<10]))
        #expect(f.source.fetches == 3)
    }

    @Test("a store answer longer than the slice is stopped and not cached; the next read fetches again")
    func tooLong() throws {
        let f = try Fixture()
        let cache = try f.cache()
        f.source.inject(.long, times: 2)
        #expect {
            try readThrough(cache.reader(for: f.object), length: 10)
        } throws: { ($0 as? GateError)?.message.contains("more than 4096 bytes") == true }
        #expect(cache.cachedSlices == 0 && filesIn(f.dir).isEmpty)
        #expect(try readThrough(cache.reader(for: f.object), length: 10) == Array(f.bytes[0..<10]))
        #expect(f.source.fetches == 3)
    }

    @Test("a failing store: the request gets an unavailable error, nothing is cached, a later read succeeds")
    func sourceFailure() throws {
        let f = try Fixture()
        let cache = try f.cache()
        f.source.inject(.fail, times: 1)
        #expect {
            try readThrough(cache.reader(for: f.object), length: 10)
        } throws: { ($0 as? GateError)?.code == .unavailable }
        #expect(f.source.fetches == 1)  // a store failure is not retried at once: the client retries
        #expect(cache.cachedSlices == 0 && filesIn(f.dir).isEmpty)
        #expect(try readThrough(cache.reader(for: f.object), length: 10) == Array(f.bytes[0..<10]))
    }

    @Test(
        "a blocking read waits at most waitTimeoutMs for a store that does not answer; the fetch still fills the cache")
    func blockingReadTimesOut() throws {
        let f = try Fixture()
        let cache = try SliceCache(
            directory: f.dir.path, maxBytes: 16 * Self.slice, source: f.source, sliceBytes: Self.slice,
            waitTimeoutMs: 200, logger: Logger(minimum: .error))
        f.source.hold()
        #expect {
            try readThrough(cache.reader(for: f.object), length: 10)
        } throws: { ($0 as? GateError)?.code == .unavailable }
        f.source.release()
        try waitUntil("the late fetch cached its slice") { cache.cachedSlices == 1 }
        #expect(try readThrough(cache.reader(for: f.object), length: 10) == Array(f.bytes[0..<10]))
        #expect(f.source.fetches == 1)
    }

    @Test("a cached slice changed on disk is checked when opened, dropped and fetched again")
    func corruptCachedSlice() throws {
        let f = try Fixture()
        let cache = try f.cache()
        _ = try readThrough(cache.reader(for: f.object), length: 10)
        let name = try #require(filesIn(f.dir).first)
        // Same length, one byte flipped, and an mtime that is not the cached one (set explicitly: a write in the
        // same clock tick as the fetch may leave mtime as it was).
        let fd = open(f.dir.file(name), O_WRONLY)
        var flipped: UInt8 = f.bytes[7] ^ 0x01
        #expect(pwrite(fd, &flipped, 1, 7) == 1)
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(futimens(fd, &times) == 0)
        close(fd)
        #expect(try readThrough(cache.reader(for: f.object), length: 10) == Array(f.bytes[0..<10]))
        #expect(f.source.fetches == 2)
    }

    @Test("a warm slice that cannot be opened now (EMFILE) stays cached: the read is served after a re-check, no fetch")
    func openFailureKeepsSlice() throws {
        let f = try Fixture()
        let cache = try f.cache()
        _ = try readThrough(cache.reader(for: f.object), length: 10)
        #expect(f.source.fetches == 1)
        // Only this thread's opens fail: the reader's warm open does; the fetch thread's re-check of the file does
        // not, so the slice is found good on disk instead of being fetched again (before, the failed open dropped
        // the slice from the index as if deleted, and the read fetched it from the store).
        let (bytes, hits) = try SyscallFaults.inject([SyscallFault(.open, .fail(errno: EMFILE), times: 1)]) {
            () throws -> [UInt8] in try readThrough(cache.reader(for: f.object), length: 10)
        }
        #expect(hits == [1])
        #expect(bytes == Array(f.bytes[0..<10]))
        #expect(f.source.fetches == 1)
        #expect(cache.cachedSlices == 1)
    }

    @Test("a slice changed on disk while a reader holds it open is not served again from that descriptor")
    func corruptHeldSlice() throws {
        let f = try Fixture()
        let cache = try f.cache()
        // One reader, as the open-file cache keeps it between requests: its descriptor of slice 0 stays open.
        let reader = cache.reader(for: f.object)
        _ = try readThrough(reader, length: 10)
        let name = try #require(filesIn(f.dir).first)
        let fd = open(f.dir.file(name), O_WRONLY)
        var flipped: UInt8 = f.bytes[7] ^ 0x01
        #expect(pwrite(fd, &flipped, 1, 7) == 1)
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(futimens(fd, &times) == 0)
        close(fd)
        // A held slice is checked at most once per heldCheckIntervalNs (1 ms): the next read comes later.
        usleep(5_000)
        #expect(try readThrough(reader, length: 10) == Array(f.bytes[0..<10]))
        #expect(f.source.fetches == 2)
    }

    @Test("a held slice is fstat-checked at most once per interval, and a change is caught once it has passed")
    func heldCheckInterval() throws {
        let f = try Fixture()
        let cache = try f.cache(heldCheckIntervalNs: 200_000_000)
        let reader = cache.reader(for: f.object)
        _ = try readThrough(reader, length: 10)
        let name = try #require(filesIn(f.dir).first)
        let fd = open(f.dir.file(name), O_WRONLY)
        var flipped: UInt8 = f.bytes[3] ^ 0x01
        #expect(pwrite(fd, &flipped, 1, 3) == 1)
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(futimens(fd, &times) == 0)
        close(fd)
        usleep(250_000)
        #expect(try readThrough(reader, length: 10) == Array(f.bytes[0..<10]))
        #expect(f.source.fetches == 2)
    }

    @Test("read-ahead keeps two slices in flight within the range, each fetched once")
    func readAheadTwo() throws {
        let f = try Fixture()
        let cache = try f.cache(readAheadSlices: 2)
        let reader = try #require(cache.reader(for: f.object) as? any PreparableBlobReader)
        // A range from slice 0 to the end: slices 1 and 2 are fetched ahead.
        reader.readAhead(at: 100, end: UInt64(f.bytes.count))
        try waitUntil("slices 1 and 2 fetched ahead") { cache.cachedSlices == 2 }
        #expect(Set(f.source.ranges.map(\.offset)) == [Self.slice, Self.slice * 2])
        // Moving on into slice 1 asks for slice 3 only; a range ending inside slice 4 never asks for slice 5.
        reader.readAhead(at: Self.slice + 5, end: Self.slice * 4 + 10)
        try waitUntil("slice 3 fetched ahead") { cache.cachedSlices == 3 }
        reader.readAhead(at: Self.slice * 3 + 5, end: Self.slice * 4 + 10)
        try waitUntil("slice 4 fetched ahead") { cache.cachedSlices == 4 }
        #expect(f.source.fetches == 4)
        #expect(!f.source.ranges.contains { $0.offset == Self.slice * 5 })
    }

    @Test("a restart rebuilds the index from the directory, checks each slice once and refetches a bad one")
    func restart() throws {
        let f = try Fixture()
        do {
            let cache = try f.cache()
            _ = try readThrough(cache.reader(for: f.object), length: 3 * Self.slice)
        }
        #expect(f.source.fetches == 3)
        // A partial download left by a crash, and a slice corrupted while the process was down.
        _ = try f.dir.write(".part-leftover.slice.abc", [1, 2, 3])
        let second = SliceFiles.name(key: f.object.key, sliceBytes: Self.slice, index: 1)
        let fd = open(f.dir.file(second), O_WRONLY)
        var zero: UInt8 = f.bytes[4096] ^ 0xFF
        #expect(pwrite(fd, &zero, 1, 0) == 1)
        close(fd)

        let cache = try f.cache()
        #expect(cache.cachedSlices == 3 && cache.cachedBytes == 3 * Self.slice)
        #expect(!filesIn(f.dir).contains { $0.hasPrefix(".part-") })
        #expect(try readThrough(cache.reader(for: f.object), length: 3 * Self.slice) == Array(f.bytes[0..<12288]))
        #expect(f.source.fetches == 4)
        #expect(f.source.ranges.last?.offset == 4096)
    }

    @Test("over the cap the least recently used slices go; a reader holding one keeps reading it")
    func eviction() throws {
        let f = try Fixture()
        let cache = try f.cache(maxSlices: 4)
        let holder = cache.reader(for: f.object)
        #expect(try readThrough(holder, length: 10) == Array(f.bytes[0..<10]))  // slice 0, held open
        #expect(holder.isCurrent())
        _ = try readThrough(cache.reader(for: f.object), offset: 4096, length: 3 * 4096)  // slices 1-3
        _ = try readThrough(cache.reader(for: f.object), length: 10)  // slice 0 used again: most recent now
        _ = try readThrough(cache.reader(for: f.object), offset: 4 * 4096, length: 4096)  // slice 4: evicts 1
        #expect(cache.cachedBytes <= 4 * Self.slice && filesIn(f.dir).count == 4)
        _ = try readThrough(cache.reader(for: f.object), offset: 5 * 4096, length: 2048)  // slice 5: evicts 2
        #expect(cache.cachedBytes <= 4 * Self.slice && filesIn(f.dir).count == 4)
        #expect(f.source.fetches == 6)
        // Slice 0 survived (recently used); slice 1 was evicted and comes back from the store.
        _ = try readThrough(cache.reader(for: f.object), length: 10)
        #expect(f.source.fetches == 6)
        _ = try readThrough(cache.reader(for: f.object), offset: 4096, length: 10)
        #expect(f.source.fetches == 7)
        // Keep going until slice 0 is evicted: the holder still reads it from its open file, and asks to be
        // reopened.
        _ = try readThrough(cache.reader(for: f.object), offset: 2 * 4096, length: 4 * 4096 - 2048)
        #expect(!filesIn(f.dir).contains(SliceFiles.name(key: f.object.key, sliceBytes: Self.slice, index: 0)))
        #expect(try readThrough(holder, length: 4096) == Array(f.bytes[0..<4096]))
        #expect(!holder.isCurrent())
    }

    @Test("a slice read again and again through one reader stays recently used while others come and go")
    func heldSliceStaysWarm() throws {
        let f = try Fixture()
        let cache = try f.cache(maxSlices: 4)
        let hot = cache.reader(for: f.object)
        for slice in 1...5 {
            #expect(try readThrough(hot, length: 10) == Array(f.bytes[0..<10]))  // slice 0, from the held descriptor
            _ = try readThrough(cache.reader(for: f.object), offset: UInt64(slice) * Self.slice, length: 10)
        }
        #expect(hot.isCurrent())
        #expect(filesIn(f.dir).contains(SliceFiles.name(key: f.object.key, sliceBytes: Self.slice, index: 0)))
        #expect(f.source.fetches == 6)
    }

    @Test("a cap below four slices is refused; a record with missing digests fails its reads, not the process")
    func settingsAndRecords() throws {
        let f = try Fixture()
        #expect {
            try f.cache(maxSlices: 3)
        } throws: { ($0 as? GateError)?.code == .usage }
        let cache = try f.cache()
        let bad = SlicedObject(key: f.object.key, size: f.object.size, sliceBytes: Self.slice, sliceSHA256: ["00"])
        #expect {
            try readThrough(cache.reader(for: bad), length: 10)
        } throws: { ($0 as? GateError)?.code == .internal }
        #expect(f.source.fetches == 0)
        // Past the end: nothing to prepare, and a read there is refused rather than fetching a slice that is not.
        let reader = try #require(cache.reader(for: f.object) as? any PreparableBlobReader)
        #expect(reader.prepare(at: f.object.size) { _ in Issue.record("ready called past the end") })
        #expect(throws: GateError.self) { try reader.extent(at: f.object.size, maxLength: 10) }
        #expect(f.source.fetches == 0)
    }

    @Test("a reader holds at most 128 slice files open; an extent keeps its own slice readable after that")
    func boundedDescriptors() throws {
        let f = try Fixture()
        let cache = try f.cache(maxSlices: 256)
        var random = SeededRandom(seed: 5)
        let bytes = random.bytes((SliceReader.maxOpenSlices + 12) * Int(Self.slice))
        let object = f.source.put("p/images/img-3/1", bytes, sliceBytes: Self.slice)
        let reader = try #require(cache.reader(for: object) as? SliceReader)
        let first = try reader.extent(at: 10, maxLength: 100)
        #expect(try readThrough(reader) == bytes)
        #expect(reader.openSlices == SliceReader.maxOpenSlices)
        // Slice 0 left the reader's table long ago; the extent still owns its descriptor.
        var chunk = [UInt8](repeating: 0, count: 100)
        let n = withExtendedLifetime(first) {
            chunk.withUnsafeMutableBytes { pread(first.fd, $0.baseAddress, 100, off_t(first.offset)) }
        }
        #expect(n == 100 && chunk == Array(bytes[10..<110]))
    }

    @Test("beyond 128 held slice files the reader lets go of the least recently used, not of one just used again")
    func heldLeastRecentlyUsedGoes() throws {
        let f = try Fixture()
        let cache = try f.cache(maxSlices: 256)
        var random = SeededRandom(seed: 6)
        let bytes = random.bytes((SliceReader.maxOpenSlices + 1) * Int(Self.slice))
        let object = f.source.put("p/images/img-4/1", bytes, sliceBytes: Self.slice)
        let reader = try #require(cache.reader(for: object) as? SliceReader)
        // Slices 0 ..< 128 held, oldest first; then slice 0 is used again (served from the held descriptor).
        for i in 0..<SliceReader.maxOpenSlices { _ = try reader.extent(at: UInt64(i) * Self.slice, maxLength: 1) }
        _ = try reader.extent(at: 5, maxLength: 1)
        #expect(reader.openSlices == SliceReader.maxOpenSlices)
        // Slice 128 makes one too many: slice 1, the least recently used, goes; slice 0 stays.
        _ = try reader.extent(at: UInt64(SliceReader.maxOpenSlices) * Self.slice, maxLength: 1)
        #expect(reader.openSlices == SliceReader.maxOpenSlices)
        #expect(reader.holds(0) && !reader.holds(1) && reader.holds(2) && reader.holds(SliceReader.maxOpenSlices))
    }

    @Test("a cache.dir that does not exist yet is created, parents included")
    func createsDirectory() throws {
        let f = try Fixture()
        let nested = f.dir.path + "/a/b/cache"
        let cache = try SliceCache(
            directory: nested, maxBytes: 16 * Self.slice, source: f.source, sliceBytes: Self.slice,
            logger: Logger(minimum: .error))
        #expect(try readThrough(cache.reader(for: f.object), length: 10) == Array(f.bytes[0..<10]))
        var st = stat()
        #expect(stat(nested, &st) == 0 && st.st_mode & 0o777 == 0o700)
    }

    @Test("an object recorded with another slice size is cut at its own size")
    func ownSliceSize() throws {
        let f = try Fixture()
        let cache = try f.cache()
        let other = f.source.put("p/images/img-2/1", f.bytes, sliceBytes: 8192)
        #expect(try readThrough(cache.reader(for: other)) == f.bytes)
        #expect(f.source.ranges.filter { $0.key == other.key }.map(\.length) == [8192, 8192, 6144])
    }
}
