//===----------------------------------------------------------------------===//
// ImageGate: blocking file I/O: open, read, pread, write-all, fsync, rename, each retried on EINTR and
// failing with the errno as a `SystemError`.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// The one place the program reads, writes and syncs files (issue #15): callers turn a `SystemError` into
/// their own message once. For blocking descriptors (files); sockets go through `Socket`.
public enum FileIO {
    /// `open(2)`, retried on EINTR. The error names `path`.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> Int32 {
        while true {
            let fd = Syscall.open(path, flags, mode)
            if fd >= 0 { return fd }
            let e = errno
            if e == EINTR { continue }
            throw SystemError("open", errno: e, path: path)
        }
    }

    /// One `read(2)` (EINTR retried); 0 at the end of the file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try Sys.blocking("read") { Syscall.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// One `pread(2)` at `offset` (EINTR retried); 0 at or past the end of the file.
    public static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64)
        throws(SystemError) -> Int
    {
        try Sys.blocking("pread") { Syscall.pread(fd, buffer.baseAddress, buffer.count, Int64(offset)) }
    }

    /// Reads until `buffer` is full or the file ends; returns the bytes read (short only at the end of the file).
    public static func preadFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64)
        throws(SystemError) -> Int
    {
        var done = 0
        while done < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
            let n = try pread(fd, into: rest, at: offset + UInt64(done))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `buffer` at the descriptor's position, through short writes and EINTR. A write that
    /// takes nothing is reported as EIO (it cannot happen for a regular file; looping would never end).
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SystemError) {
        var off = 0
        while off < buffer.count {
            let n = try Sys.blocking("write") { Syscall.write(fd, buffer.baseAddress! + off, buffer.count - off) }
            if n == 0 { throw SystemError("write", errno: EIO) }
            off += n
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        // withUnsafeBytes rethrows untyped errors: the Result carries the typed one through.
        try bytes.withUnsafeBytes { b in Result { () throws(SystemError) in try writeAll(fd, b) } }.get()
    }

    /// `read` into the start of `bytes`; returns the count (0 at the end of the file).
    public static func read(_ fd: Int32, into bytes: inout [UInt8]) throws(SystemError) -> Int {
        try bytes.withUnsafeMutableBytes { b in Result { () throws(SystemError) in try read(fd, into: b) } }.get()
    }

    /// `pread` into `bytes[range]` (all of `bytes` by default); returns the count (0 at the end of the file).
    public static func pread(_ fd: Int32, into bytes: inout [UInt8], range: Range<Int>? = nil, at offset: UInt64)
        throws(SystemError) -> Int
    {
        try bytes.withUnsafeMutableBytes { b in
            Result { () throws(SystemError) in
                try pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: b[range ?? 0..<b.count]), at: offset)
            }
        }.get()
    }

    /// `pwrite(2)` of all of `buffer` at `offset`, through short writes and EINTR.
    public static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) {
        var off = 0
        while off < buffer.count {
            let n = try Sys.blocking("pwrite") {
                Syscall.pwrite(fd, buffer.baseAddress! + off, buffer.count - off, Int64(offset) + Int64(off))
            }
            if n == 0 { throw SystemError("pwrite", errno: EIO) }
            off += n
        }
    }

    /// `fsync(2)`. Its result always matters: after a failed fsync the kernel may have dropped the dirty pages,
    /// so the bytes must be treated as lost (a retry can report success for data that never reached the disk).
    public static func fsync(_ fd: Int32) throws(SystemError) {
        _ = try Sys.blocking("fsync") { Syscall.fsync(fd) }
    }

    /// Makes the entries of `directory` durable (a rename, link or unlink inside it).
    public static func syncDirectory(_ directory: String) throws(SystemError) {
        let fd = try open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { Sys.close(fd) }
        do {
            try fsync(fd)
        } catch {
            throw SystemError("fsync", errno: error.errno, path: directory)
        }
    }

    /// `rename(2)`: atomic within one file system. The error names the destination.
    public static func rename(_ from: String, to: String) throws(SystemError) {
        guard Syscall.rename(from, to) == 0 else { throw SystemError("rename", errno: errno, path: to) }
    }

    /// `link(2)`: like `rename`, but fails with EEXIST instead of replacing `to`.
    public static func link(_ from: String, to: String) throws(SystemError) {
        guard Syscall.link(from, to) == 0 else { throw SystemError("link", errno: errno, path: to) }
    }

    /// Tells the kernel the file will be read front to back (POSIX_FADV_SEQUENTIAL: Linux doubles the
    /// read-ahead window).
    /// Advice only: a failure changes nothing but speed, so it is not reported.
    public static func adviseSequential(_ fd: Int32) {
        _ = Syscall.fadvise(fd, POSIX_FADV_SEQUENTIAL)
    }

    /// Reads a whole file of at most `limit` bytes from its current position.
    public static func readToEnd(_ fd: Int32, limit: Int) throws(SystemError) -> [UInt8]? {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = try read(fd, into: &buf)
            if n == 0 { return out }
            out += buf[0..<n]
            if out.count > limit { return nil }
        }
    }
}

extension FileIO {
    /// Opens `directory` and takes an exclusive `flock` on it (waiting for it; EINTR retried). The lock belongs
    /// to the returned descriptor's open file description: `Sys.close` releases it, and so does the death of
    /// the process, so a crash never leaves it taken. The error's `call` is "open" or "flock".
    public static func lockDirectory(_ directory: String) throws(SystemError) -> Int32 {
        let fd = try open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        while flock(fd, LOCK_EX) != 0 {
            let e = errno
            if e == EINTR { continue }
            Sys.close(fd)
            throw SystemError("flock", errno: e, path: directory)
        }
        return fd
    }
}
