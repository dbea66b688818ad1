//===----------------------------------------------------------------------===//
// ImageGate: the open-file cache of the download handler: reuse, replacement, deletion, bounds.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
@testable import ImageGateApp
import Testing

@Suite struct OpenFileCacheTests {
    /// A scratch directory with one file per test.
    final class Scratch {
        let dir: String
        init() throws {
            dir = NSTemporaryDirectory() + "ofc-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        func write(_ name: String, _ text: String) throws -> String {
            let path = "\(dir)/\(name)"
            // Written beside and renamed over: a new inode, as a blob store finalize does.
            try Data(text.utf8).write(to: URL(fileURLWithPath: path + ".tmp"))
            try FileManager.default.moveItem(atPath: path + ".tmp", toPath: path)
            return path
        }
        func replace(_ path: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path + ".tmp"))
            _ = rename(path + ".tmp", path)
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    static let image = ImageID(ID128(high: 7, low: 9))

    static func contents(_ fd: Int32, _ size: Int) -> String {
        var buf = [UInt8](repeating: 0, count: size)
        let n = pread(fd, &buf, size, 0)
        return String(decoding: buf.prefix(max(0, n)), as: UTF8.self)
    }

    /// Opens through the cache and returns only a weak reference, so the test can see when the cache lets go.
    static func weakOpen(_ cache: OpenFileCache, _ key: OpenFileCache.Key, _ path: String, _ now: Int64) throws
        -> (fd: Int32, ref: () -> AnyObject?)
    {
        let file = try cache.file(for: key, path: { path }, nowMs: now)
        weak var w = file
        return (file.fd, { w })
    }

    @Test("a keep-alive burst reuses one descriptor: no open per request")
    func reuse() throws {
        let s = try Scratch()
        let path = try s.write("blob", "first")
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 10_000, maxEntries: 8)
        let key = OpenFileCache.Key(image: Self.image, generation: 1)
        let a = try cache.file(for: key, path: { path }, nowMs: 0)
        var asked = 0
        let b = try cache.file(for: key, path: { asked += 1; return path }, nowMs: 500)
        #expect(a === b)
        #expect(asked == 0)  // within validMs the file system is not even looked at
        #expect(cache.count == 1)
    }

    @Test("a blob replaced at its path is served with its new bytes once the entry is re-checked")
    func replaced() throws {
        let s = try Scratch()
        let path = try s.write("blob", "old bytes")
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 10_000, maxEntries: 8)
        let key = OpenFileCache.Key(image: Self.image, generation: 1)
        let old = try cache.file(for: key, path: { path }, nowMs: 0)
        try s.replace(path, "new bytes")
        let again = try cache.file(for: key, path: { path }, nowMs: 1000)
        #expect(again !== old)
        #expect(Self.contents(again.fd, 9) == "new bytes")
        // The response still holding the old descriptor keeps reading the bytes its headers described.
        #expect(Self.contents(old.fd, 9) == "old bytes")
    }

    @Test("a new generation opens afresh and closes the old generation's descriptor")
    func generationBump() throws {
        let s = try Scratch()
        let path = try s.write("blob", "gen one")
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 10_000, maxEntries: 8)
        let (_, oldRef) = try Self.weakOpen(cache, .init(image: Self.image, generation: 1), path, 0)
        #expect(oldRef() != nil)
        try s.replace(path, "gen two")
        let fresh = try cache.file(for: .init(image: Self.image, generation: 2), path: { path }, nowMs: 10)
        #expect(Self.contents(fresh.fd, 7) == "gen two")
        #expect(oldRef() == nil)  // closed: nobody held it but the cache
        #expect(cache.count == 1)
    }

    @Test("a deleted blob's descriptor is closed by the sweep, without any further request")
    func deletedIsClosed() throws {
        let s = try Scratch()
        let path = try s.write("blob", "doomed")
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 60_000, maxEntries: 8)
        let (fd, ref) = try Self.weakOpen(cache, .init(image: Self.image, generation: 1), path, 0)
        try FileManager.default.removeItem(atPath: path)
        cache.sweep(nowMs: 500)  // not yet due for a check
        #expect(ref() != nil)
        cache.sweep(nowMs: 1500)
        #expect(ref() == nil)
        #expect(cache.count == 0)
        // OpenFile's deinit closed it: the number no longer names the deleted blob.
        #expect(Self.linkTarget(fd).map { !$0.hasPrefix(path) } ?? true)
    }

    @Test("a blob still in place survives the sweep; one nobody asks for is closed after inactiveMs")
    func inactive() throws {
        let s = try Scratch()
        let path = try s.write("blob", "idle")
        let cache = OpenFileCache(validMs: 1000, inactiveMs: 5000, maxEntries: 8)
        let (_, ref) = try Self.weakOpen(cache, .init(image: Self.image, generation: 1), path, 0)
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
        let (_, r1) = try Self.weakOpen(cache, .init(image: ImageID(ID128(high: 1, low: 1)), generation: 0), p1, 0)
        let (_, r2) = try Self.weakOpen(cache, .init(image: ImageID(ID128(high: 1, low: 2)), generation: 0), p2, 1)
        _ = try cache.file(for: .init(image: ImageID(ID128(high: 1, low: 1)), generation: 0), path: { p1 }, nowMs: 2)
        _ = try Self.weakOpen(cache, .init(image: ImageID(ID128(high: 1, low: 3)), generation: 0), p3, 3)
        #expect(cache.count == 2)
        #expect(r1() != nil)
        #expect(r2() == nil)
    }

    static func linkTarget(_ fd: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
    }
}
