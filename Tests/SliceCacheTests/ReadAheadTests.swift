//===----------------------------------------------------------------------===//
// ImageGate: read-ahead of a sequential download through the read cache (Docs/object-storage.md "Read-ahead"):
// how far, single flight, the fetch-thread cap, failures, eviction.
//===----------------------------------------------------------------------===//
import GateCore
import Synchronization
import SystemIO
import Testing
import TestSupport

@testable import SliceCache

/// Reads the whole object the way the HTTP writer does: `prepare` where it is (which marks a local slice used),
/// read-ahead from there, then the bytes (`extent` waits for a slice that is not local yet, as the writer parks).
func readSequentially(_ reader: any PreparableBlobReader) throws -> [UInt8] {
    var out: [UInt8] = []
    var at: UInt64 = 0
    while at < reader.size {
        _ = reader.prepare(at: at) { _ in }
        reader.readAhead(at: at, end: reader.size)
        let got = try readThrough(reader, offset: at, length: min(1500, reader.size - at))
        out += got
        at += UInt64(got.count)
    }
    return out
}

@Suite struct ReadAheadTests {
    static let slice = SliceCacheTests.slice

    @Test("read-ahead fetches at most N slices past the current one, never past the end; 0 turns it off")
    func howFar() throws {
        let f = try SliceCacheTests.Fixture()
        let off = try f.cache(readAheadSlices: 0)
        let none = try #require(off.reader(for: f.object) as? any PreparableBlobReader)
        none.readAhead(at: 0, end: f.object.size)
        #expect(try readSequentially(none) == f.bytes)
        #expect(f.source.ranges.map(\.offset) == (0..<6).map { UInt64($0) * Self.slice })

        let g = try SliceCacheTests.Fixture(seed: 2)
        let cache = try g.cache(readAheadSlices: 3)
        let reader = try #require(cache.reader(for: g.object) as? any PreparableBlobReader)
        reader.readAhead(at: 0, end: g.object.size)
        try waitUntil("slices 1 to 3 fetched ahead") { cache.cachedSlices == 3 }
        #expect(Set(g.source.ranges.map(\.offset)) == [Self.slice, 2 * Self.slice, 3 * Self.slice])
        // From slice 3 the object has two more (the last one short): nothing beyond them is asked for.
        reader.readAhead(at: 3 * Self.slice + 1, end: g.object.size)
        try waitUntil("slices 4 and 5 fetched ahead") { cache.cachedSlices == 5 }
        #expect(g.source.fetches == 5 && g.source.ranges.allSatisfy { $0.offset < g.object.size })
        #expect(try readSequentially(reader) == g.bytes)
        #expect(g.source.fetches == 6)
    }

    @Test("a request for a slice being read ahead joins that fetch: one GET, and the request gets the bytes")
    func singleFlightWithAReader() throws {
        let f = try SliceCacheTests.Fixture()
        let cache = try f.cache(readAheadSlices: 1)
        let reader = try #require(cache.reader(for: f.object) as? any PreparableBlobReader)
        f.source.hold()
        reader.readAhead(at: 10, end: f.object.size)
        try waitUntil("the read-ahead of slice 1 reached the store") { f.source.fetches == 1 }
        let got = Mutex<[UInt8]?>(nil)
        let other = OSThread.spawn(name: "reader") {
            let bytes = try? readThrough(cache.reader(for: f.object), offset: Self.slice + 7, length: 100)
            got.withLock { $0 = bytes }
        }
        try waitUntil("the request joined the read-ahead") { cache.waiting(f.object, 1) == 1 }
        f.source.release()
        other.join()
        #expect(got.withLock { $0 } == Array(f.bytes[4103..<4203]))
        #expect(f.source.fetches == 1)
    }

    @Test(
        "a read-ahead never waits for a fetch thread: with every thread busy it is skipped, not queued before requests")
    func fetchThreadCap() throws {
        let f = try SliceCacheTests.Fixture()
        let cache = try SliceCache(
            directory: f.dir.path, maxBytes: 16 * Self.slice, source: f.source, sliceBytes: Self.slice,
            waitTimeoutMs: 120_000, maxFetchThreads: 2, readAheadSlices: 2, logger: Logger(minimum: .error))
        let reader = try #require(cache.reader(for: f.object) as? any PreparableBlobReader)
        f.source.hold()
        // A download's first slice takes one thread; its read-ahead gets the second for slice 1 and none for 2.
        #expect(!reader.prepare(at: 0) { _ in })
        reader.readAhead(at: 0, end: f.object.size)
        try waitUntil("two fetches at the store") { f.source.fetches == 2 }
        #expect(cache.inFlight(f.object, 1) && !cache.inFlight(f.object, 2))
        // Another download's first slice queues for a thread, and is the next to get one.
        let got = Mutex<[UInt8]?>(nil)
        let other = OSThread.spawn(name: "reader") {
            let bytes = try? readThrough(cache.reader(for: f.object), offset: 4 * Self.slice, length: 10)
            got.withLock { $0 = bytes }
        }
        try waitUntil("the other download waits") { cache.waiting(f.object, 4) == 1 }
        f.source.release()
        other.join()
        #expect(got.withLock { $0 } == Array(f.bytes[16384..<16394]))
        #expect(!f.source.ranges.contains { $0.offset == 2 * Self.slice })
        // The next turn of the first download asks again, now that threads are free.
        reader.readAhead(at: 1, end: f.object.size)
        try waitUntil("slice 2 fetched ahead") { f.source.ranges.contains { $0.offset == 2 * Self.slice } }
        #expect(try readSequentially(reader) == f.bytes)
        #expect(f.source.fetches == 6)
    }

    @Test("a failed read-ahead does not fail the download, nor a request that joined it")
    func failedReadAhead() throws {
        let f = try SliceCacheTests.Fixture()
        let cache = try f.cache(readAheadSlices: 1)
        let reader = try #require(cache.reader(for: f.object) as? any PreparableBlobReader)
        // Nobody waits for it: the slice stays cold, and the download fetches it when it gets there.
        f.source.inject(.fail, times: 1)
        reader.readAhead(at: 0, end: f.object.size)
        try waitUntil("the read-ahead failed") { f.source.fetches == 1 && !cache.inFlight(f.object, 1) }
        #expect(cache.cachedSlices == 0)
        #expect(try readSequentially(reader) == f.bytes)

        // A request joined it before it failed: it gets a fetch of its own, not the read-ahead's error.
        let g = try SliceCacheTests.Fixture(seed: 3)
        let second = try g.cache(readAheadSlices: 1)
        let r2 = try #require(second.reader(for: g.object) as? any PreparableBlobReader)
        g.source.hold()
        g.source.inject(.fail, times: 1)
        r2.readAhead(at: 0, end: g.object.size)
        try waitUntil("the read-ahead reached the store") { g.source.fetches == 1 }
        let got = Mutex<Result<[UInt8], GateError>?>(nil)
        let other = OSThread.spawn(name: "reader") {
            let r: Result<[UInt8], GateError>
            do {
                r = .success(try readThrough(second.reader(for: g.object), offset: Self.slice, length: 10))
            } catch {
                r = .failure(error as? GateError ?? .internal("\(error)"))
            }
            got.withLock { $0 = r }
        }
        try waitUntil("the request joined the read-ahead") { second.waiting(g.object, 1) == 1 }
        g.source.release()
        other.join()
        #expect(try got.withLock { $0 }?.get() == Array(g.bytes[4096..<4106]))
        #expect(g.source.fetches == 2)
    }

    @Test("a slice read ahead and evicted (or whose read-ahead failed) is read ahead again by the same reader")
    func askedAgainAfterALoss() throws {
        let f = try SliceCacheTests.Fixture()
        let cache = try f.cache(maxSlices: 4, readAheadSlices: 2)
        let reader = try #require(cache.reader(for: f.object) as? any PreparableBlobReader)
        reader.readAhead(at: 0, end: f.object.size)
        try waitUntil("slices 1 and 2 fetched ahead") { cache.cachedSlices == 2 && f.source.fetches == 2 }
        // Another image's four slices fill the cache: slices 1 and 2 are evicted before anyone read them.
        var random = SeededRandom(seed: 9)
        let other = f.source.put("p/images/img-9/1", random.bytes(4 * Int(Self.slice)), sliceBytes: Self.slice)
        _ = try readThrough(cache.reader(for: other))
        #expect(f.source.fetches == 6 && cache.cachedSlices == 4)
        // The reader is the open-file cache's, kept for the next download: its read-ahead fetches them again.
        reader.readAhead(at: 0, end: f.object.size)
        try waitUntil("slices 1 and 2 fetched ahead again") { f.source.fetches == 8 }
        #expect(f.source.ranges.suffix(2).map(\.offset).sorted() == [Self.slice, 2 * Self.slice])
    }

    @Test("under a cap of four slices a download never evicts a slice it read ahead before reaching it")
    func smallCap() throws {
        for asked in [2, 8] {
            let f = try SliceCacheTests.Fixture(seed: UInt64(10 + asked))
            let cache = try f.cache(maxSlices: 4, readAheadSlices: asked)
            // Slices ahead count against cache.max_bytes: at most half of it (the cap holds 4).
            #expect(cache.readAhead(for: f.object) == 2)
            let reader = try #require(cache.reader(for: f.object) as? any PreparableBlobReader)
            // The download's first slice, then its read-ahead to completion before it goes on.
            _ = try readThrough(reader, length: 10)
            reader.readAhead(at: 0, end: f.object.size)
            try waitUntil("read-ahead done") { (1..<6).allSatisfy { !cache.inFlight(f.object, $0) } }
            #expect(try readSequentially(reader) == f.bytes)
            #expect(f.source.fetches == 6, "asked for \(asked) ahead: every slice fetched once")
            #expect(cache.cachedBytes <= 4 * Self.slice && filesIn(f.dir).count <= 4)
        }
    }
}
