//===----------------------------------------------------------------------===//
// ImageGate: the open-file cache of the download handler: reuse, replacement, deletion, bounds.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog
@testable import ImageGateApp
import Testing

@Suite struct OpenFileCacheTests {
    /// A scratch local blob store; blobs are written at its paths behind its back, as an operator could.
    final class Scratch {
        let root: String
        let store: BlobStore
        init() throws {
            root = NSTemporaryDirectory() + "ofc-\(UUID().uuidString)"
            store = BlobStore(root: root)
            try FileManager.default.createDirectory(atPath: store.blobDirectory, withIntermediateDirectories: true)
        }
        func write(_ name: String, _ text: String) throws -> String {
            let path = store.path(for: Scratch.id(name))
            // Written beside and renamed over: a new inode, as a blob store finalize does.
            try Data(text.utf8).write(to: URL(fileURLWithPath: path + ".tmp"))
            try FileManager.default.moveItem(atPath: path + ".tmp", toPath: path)
            return path
        }
        func replace(_ path: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path + ".tmp"))
            _ = rename(path + ".tmp", path)
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }

        /// The image id a test file stands for ("blob", "a", "b", ...).
        static func id(_ name: String) -> ImageID {
            ImageID(ID128(high: 7, low: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) })))
        }

        /// The cache's opener for `key`: the store's reader of the blob at `path`, of its current length.
        func opener(_ key: OpenFileCache.Key, _ path: String, count: (() -> Void)? = nil)
            -> () throws(GateError) -> any BlobReader
        {
            { [store] () throws(GateError) -> any BlobReader in
                count?()
                let size = FileManager.default.contents(atPath: path).map { UInt64($0.count) } ?? 0
                return try store.openReader(
                    BlobVersion(image: key.image, generation: key.generation), expectedSize: size)
            }
        }
    }

    static let image = Scratch.id("blob")

    static func contents(_ file: any BlobReader, _ size: Int) -> String {
        var buf = [UInt8](repeating: 0, count: size)
        guard let extent = try? file.extent(at: 0, maxLength: UInt64(size)) else { return "" }
        let n = pread(extent.fd, &buf, Int(extent.length), off_t(extent.offset))
        return String(decoding: buf.prefix(max(0, n)), as: UTF8.self)
    }

    /// Opens through the cache and returns only a weak reference, so the test can see when the cache lets go.
    static func weakOpen(_ s: Scratch, _ cache: OpenFileCache, _ key: OpenFileCache.Key, _ path: String, _ now: Int64)
        throws -> (fd: Int32, ref: () -> AnyObject?)
    {
        let file = try cache.file(for: key, nowMs: now, open: s.opener(key, path))
        weak let w = file
        return (try file.extent(at: 0, maxLength: 1).fd, { w })
    }

    @Test("a keep-alive burst reuses one descriptor: no open per request")
    func reuse() throws {
        let s = try Scratch()
        let path = try s.write("blob", "first")
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 10_000, maxEntries: 8)
        let key = OpenFileCache.Key(image: Self.image, generation: 1)
        let a = try cache.file(for: key, nowMs: 0, open: s.opener(key, path))
        let asked = Counter()
        let b = try cache.file(for: key, nowMs: 500, open: s.opener(key, path) { asked.n += 1 })
        #expect(a === b)
        #expect(asked.n == 0)  // within validMs the store is not even asked
        #expect(cache.count == 1)
    }

    @Test("a blob replaced at its path is served with its new bytes once the entry is re-checked")
    func replaced() throws {
        let s = try Scratch()
        let path = try s.write("blob", "old bytes")
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 10_000, maxEntries: 8)
        let key = OpenFileCache.Key(image: Self.image, generation: 1)
        let old = try cache.file(for: key, nowMs: 0, open: s.opener(key, path))
        try s.replace(path, "new bytes")
        let again = try cache.file(for: key, nowMs: 1000, open: s.opener(key, path))
        #expect(again !== old)
        #expect(Self.contents(again, 9) == "new bytes")
        // The response still holding the old descriptor keeps reading the bytes its headers described.
        #expect(Self.contents(old, 9) == "old bytes")
    }

    @Test("a new generation opens afresh and closes the old generation's descriptor")
    func generationBump() throws {
        let s = try Scratch()
        let path = try s.write("blob", "gen one")
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 10_000, maxEntries: 8)
        let (_, oldRef) = try Self.weakOpen(s, cache, .init(image: Self.image, generation: 1), path, 0)
        #expect(oldRef() != nil)
        try s.replace(path, "gen two")
        let two = OpenFileCache.Key(image: Self.image, generation: 2)
        let fresh = try cache.file(for: two, nowMs: 10, open: s.opener(two, path))
        #expect(Self.contents(fresh, 7) == "gen two")
        #expect(oldRef() == nil)  // closed: nobody held it but the cache
        #expect(cache.count == 1)
    }

    @Test("a deleted blob's descriptor is closed by the sweep, without any further request")
    func deletedIsClosed() throws {
        let s = try Scratch()
        let path = try s.write("blob", "doomed")
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 60_000, maxEntries: 8)
        let (fd, ref) = try Self.weakOpen(s, cache, .init(image: Self.image, generation: 1), path, 0)
        try FileManager.default.removeItem(atPath: path)
        cache.sweep(nowMs: 500)  // not yet due for a check
        #expect(ref() != nil)
        cache.sweep(nowMs: 1500)
        #expect(ref() == nil)
        #expect(cache.count == 0)
        // The reader's deinit closed it: the number no longer names the deleted blob.
        #expect(Self.linkTarget(fd).map { !$0.hasPrefix(path) } ?? true)
    }

    @Test("a blob still in place survives the sweep; one nobody asks for is closed after inactiveMs")
    func inactive() throws {
        let s = try Scratch()
        let path = try s.write("blob", "idle")
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 5000, maxEntries: 8)
        let (_, ref) = try Self.weakOpen(s, cache, .init(image: Self.image, generation: 1), path, 0)
        cache.sweep(nowMs: 1000)
        #expect(ref() != nil)
        cache.sweep(nowMs: 5000)
        #expect(ref() == nil)
    }

    @Test("at most maxEntries descriptors stay open; the least recently used goes first")
    func bounded() throws {
        let s = try Scratch()
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 60_000, maxEntries: 2)
        let p1 = try s.write("a", "a")
        let p2 = try s.write("b", "b")
        let p3 = try s.write("c", "c")
        let k1 = OpenFileCache.Key(image: Scratch.id("a"), generation: 0)
        let (_, r1) = try Self.weakOpen(s, cache, k1, p1, 0)
        let (_, r2) = try Self.weakOpen(s, cache, .init(image: Scratch.id("b"), generation: 0), p2, 1)
        _ = try cache.file(for: k1, nowMs: 2, open: s.opener(k1, p1))
        _ = try Self.weakOpen(s, cache, .init(image: Scratch.id("c"), generation: 0), p3, 3)
        #expect(cache.count == 2)
        #expect(r1() != nil)
        #expect(r2() == nil)
    }

    final class Counter: @unchecked Sendable { var n = 0 }

    static func linkTarget(_ fd: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
    }
}
