//===----------------------------------------------------------------------===//
// ImageGate: the cache directory on disk: slice file names, listing after a restart, temp files, hashing.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import GateCore
import SystemIO

/// One slice file as `stat` saw it: what the index remembers to notice a file that changed behind its back.
struct SliceStamp: Equatable, Sendable {
    var size: UInt64
    var mtimeNanoseconds: Int64
    /// Last access (atime, touched when a reader opens the slice): the LRU order rebuilt after a restart.
    var atimeNanoseconds: Int64

    init(_ st: FileStatus) {
        size = st.size
        mtimeNanoseconds = st.modifiedSeconds * 1_000_000_000 + st.modifiedNanoseconds
        atimeNanoseconds = st.accessedSeconds * 1_000_000_000 + st.accessedNanoseconds
    }

    /// Same bytes as far as `stat` can tell (atime moves on every open and says nothing about content).
    func sameFile(as other: SliceStamp) -> Bool { size == other.size && mtimeNanoseconds == other.mtimeNanoseconds }
}

/// The slice file names of one object: the SHA-256 of its key is computed once (per reader), not on every
/// slice lookup.
struct SliceNames: Sendable {
    /// `<first 32 hex digits of SHA-256(key)>-<slice bytes>-`
    let prefix: String

    init(key: String, sliceBytes: UInt64) {
        prefix = Hex.encode(Crypto.sha256(Array(key.utf8)).prefix(16)) + "-\(sliceBytes)-"
    }

    func name(_ index: Int) -> String { prefix + String(index) + SliceFiles.sliceSuffix }
}

/// Names and file operations under `cache.dir`. A slice file is `<key hash>-<slice bytes>-<index>.slice`: the
/// key hash keeps object keys (user-influenced text) out of file names, and the slice size is part of the name
/// because the recorded digests are per slice size. Downloads in progress are `.part-…` files, never served
/// and removed at start-up.
struct SliceFiles: Sendable {
    let directory: String
    static let sliceSuffix = ".slice"
    static let partPrefix = ".part-"

    static func name(key: String, sliceBytes: UInt64, index: Int) -> String {
        SliceNames(key: key, sliceBytes: sliceBytes).name(index)
    }

    /// The key hash of a slice file name: what the debug log shows instead of the key.
    static func keyHash(ofName name: String) -> Substring { name.prefix(while: { $0 != "-" }) }

    func path(_ name: String) -> String { directory + "/" + name }

    /// Creates the directory (0700) when it is missing.
    func makeDirectory() throws(GateError) {
        do {
            try FileIO.makeDirectories(directory, mode: 0o700)
        } catch {
            if error.errno == EEXIST && error.path == directory {
                throw .usage("cache.dir \(directory) is not a directory")
            }
            throw .io("cannot create cache.dir \(error.path ?? directory): \(error.reason)")
        }
    }

    /// The slice files present, with their stamps; leftover partial downloads are deleted (a crash or a kill
    /// mid-fetch leaves them; they were never renamed in, so nothing refers to them).
    func scan() throws(GateError) -> [String: SliceStamp] {
        let names: [String]
        do {
            names = try FileIO.directoryEntries(directory)
        } catch {
            throw .io("cannot read cache.dir \(directory): \(error.reason)")
        }
        var found: [String: SliceStamp] = [:]
        for name in names {
            if name.hasPrefix(Self.partPrefix) {
                FileIO.remove(path(name))
                continue
            }
            guard name.hasSuffix(Self.sliceSuffix) else { continue }
            guard let st = try? FileIO.status(path(name)), st.isRegularFile else { continue }
            found[name] = SliceStamp(st)
        }
        return found
    }

    /// A new partial-download file for `name`, opened read-write; its path goes back to `publish` or `discard`.
    func createPart(for name: String) throws(GateError) -> (fd: Int32, path: String) {
        let suffix = Crypto.randomBytes(6).map { String($0, radix: 16) }.joined()
        let p = path(Self.partPrefix + name + "." + suffix)
        do {
            return (try FileIO.open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600), p)
        } catch {
            throw .io("cannot create \(p): \(error.reason)")
        }
    }

    /// Renames a verified partial download into place (atomic: a reader sees the whole slice or none).
    /// Deliberately not `AtomicFile.commit`: no fsync of the slice or the directory. A cache slice is a copy
    /// of the object store's bytes, checked against its SHA-256 whenever it is opened after a restart
    /// (`scan`, `SliceCache`), so a slice a crash tore or lost is fetched again; syncing would only slow
    /// every cold read.
    func publish(part: String, as name: String) throws(GateError) {
        do {
            try FileIO.rename(part, to: path(name))
        } catch {
            FileIO.remove(part)
            throw .io("cannot rename \(part) into the cache: \(error.reason)")
        }
    }

    func remove(_ name: String) { FileIO.remove(path(name)) }

    /// Opens a slice for reading and marks it used (atime, for the LRU order after a restart). nil when the file
    /// is gone (ENOENT); any other failure (EMFILE when the process is out of descriptors, EACCES, EIO) throws, so
    /// callers do not mistake a slice they cannot open now for a slice that no longer exists.
    func openForReading(_ name: String) throws(SystemError) -> (fd: Int32, stamp: SliceStamp)? {
        let fd: Int32
        do {
            fd = try FileIO.open(path(name), O_RDONLY | O_CLOEXEC)
        } catch  where error.errno == ENOENT {
            return nil
        }
        let stamp: SliceStamp
        do {
            stamp = SliceStamp(try FileIO.status(of: fd))
        } catch {
            Sys.close(fd)
            throw SystemError("fstat", errno: error.errno, path: path(name))
        }
        // Only atime moves (mtime is left alone), so the stamp's content check is unaffected.
        FileIO.touchAccessTime(fd)
        return (fd, stamp)
    }

    /// The SHA-256 (lowercase hex) and length of what `fd` holds from offset 0.
    static func digest(of fd: Int32) throws(GateError) -> (hex: String, length: UInt64) {
        let hasher = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let n: Int
            do {
                n = try FileIO.pread(fd, into: &buffer, at: UInt64(offset))
            } catch {
                throw .io("reading a cache slice failed: \(error.reason)")
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += off_t(n)
        }
        return (Hex.encode(hasher.finish()), UInt64(offset))
    }
}

/// Writes a slice as the store sends it and hashes the same bytes on the way (one pass over them while they are
/// still in the CPU's cache, instead of reading the whole file back to check it).
struct SliceWriter {
    let fd: Int32
    let expected: UInt64
    private let hasher = SHA256Hasher()
    private(set) var written: UInt64 = 0
    /// The store sent more than the slice: stopped, and the slice is refused like a wrong digest.
    private(set) var tooLong = false
    /// A local write failed (disk full, I/O error): not the store's fault.
    private(set) var failure: GateError?

    init(fd: Int32, expected: UInt64) {
        self.fd = fd
        self.expected = expected
    }

    /// One chunk, in order; false stops the transfer.
    mutating func write(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard written + UInt64(chunk.count) <= expected else {
            tooLong = true
            return false
        }
        do {
            try FileIO.pwriteAll(fd, chunk, at: written)
        } catch {
            failure = .io("writing a cache slice failed: \(error.reason)")
            return false
        }
        hasher.update(chunk)
        written += UInt64(chunk.count)
        return true
    }

    /// The SHA-256 (lowercase hex) and length of what was written.
    func finish() -> (hex: String, length: UInt64) {
        (Hex.encode(hasher.finish()), written)
    }
}
