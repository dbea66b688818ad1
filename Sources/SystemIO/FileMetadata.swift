//===----------------------------------------------------------------------===//
// ImageGate: file metadata: stat, mkdir and `mkdir -p`, chmod, unlink, ftruncate, lseek, directory listing,
// access, atime; each retried on EINTR and failing with the errno as a `SystemError`.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// What `stat` says about a file, as the program uses it (a copy of the fields, no `struct stat` outside
/// SystemIO).
public struct FileStatus: Sendable, Equatable {
    /// `st_mode`: type and permission bits.
    public var mode: mode_t
    public var size: UInt64
    public var device: UInt64
    public var inode: UInt64
    public var modifiedSeconds: Int64
    public var modifiedNanoseconds: Int64
    public var accessedSeconds: Int64
    public var accessedNanoseconds: Int64

    init(_ st: stat) {
        mode = st.st_mode
        size = UInt64(max(st.st_size, 0))
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        modifiedSeconds = Int64(st.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(st.st_mtim.tv_nsec)
        accessedSeconds = Int64(st.st_atim.tv_sec)
        accessedNanoseconds = Int64(st.st_atim.tv_nsec)
    }

    public var isRegularFile: Bool { mode & S_IFMT == S_IFREG }
    public var isDirectory: Bool { mode & S_IFMT == S_IFDIR }
    /// The permission bits (`mode & 0o7777`).
    public var permissions: mode_t { mode & 0o7777 }
}

extension FileIO {
    /// `stat(2)` (follows symlinks). The error names `path`.
    public static func status(_ path: String) throws(SystemError) -> FileStatus {
        var st = stat()
        _ = try Sys.blocking("stat", path: path) { Syscall.statPath(path, &st) }
        return FileStatus(st)
    }

    /// `lstat(2)`: a symlink is described, not followed.
    public static func linkStatus(_ path: String) throws(SystemError) -> FileStatus {
        var st = stat()
        _ = try Sys.blocking("lstat", path: path) { Syscall.lstat(path, &st) }
        return FileStatus(st)
    }

    /// `fstat(2)` of an open descriptor.
    public static func status(of fd: Int32) throws(SystemError) -> FileStatus {
        var st = stat()
        _ = try Sys.blocking("fstat") { Syscall.fstat(fd, &st) }
        return FileStatus(st)
    }

    /// `mkdir(2)` of one directory; EEXIST is an error like any other (see `makeDirectories`).
    public static func makeDirectory(_ path: String, mode: mode_t) throws(SystemError) {
        _ = try Sys.blocking("mkdir", path: path) { Syscall.mkdir(path, mode) }
    }

    /// `mkdir -p`: creates `path` and any missing parents with `mode` (the umask applies); existing directories
    /// are left as they are. A component that exists and is not a directory fails with EEXIST naming that
    /// component; any other failure names the directory that could not be made. Another process creating a
    /// component at the same time is fine.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(SystemError) {
        if path.isEmpty || path == "/" || path == "." { return }
        if let existing = try? status(path) {
            guard existing.isDirectory else { throw SystemError("mkdir", errno: EEXIST, path: path) }
            return
        }
        try makeDirectories(AtomicFile.parentDirectory(of: path), mode: mode)
        do {
            try makeDirectory(path, mode: mode)
        } catch  where error.errno == EEXIST {
            // Made by someone else since the stat above, or a file that appeared there.
            guard (try? status(path))?.isDirectory == true else { throw error }
        }
    }

    /// `chmod(2)`.
    public static func setPermissions(_ path: String, _ mode: mode_t) throws(SystemError) {
        _ = try Sys.blocking("chmod", path: path) { Syscall.chmod(path, mode) }
    }

    /// `fchmod(2)`: sets `mode` exactly (no umask).
    public static func setPermissions(of fd: Int32, _ mode: mode_t) throws(SystemError) {
        _ = try Sys.blocking("fchmod") { Syscall.fchmod(fd, mode) }
    }

    /// `unlink(2)`, when the caller needs to know it worked (`remove` is the cleanup that does not care).
    public static func unlink(_ path: String) throws(SystemError) {
        _ = try Sys.blocking("unlink", path: path) { Syscall.unlink(path) }
    }

    /// `unlink(2)`, for cleanup: a missing file is fine and other failures leave nothing to do.
    public static func remove(_ path: String) {
        _ = Syscall.unlink(path)
    }

    /// `ftruncate(2)` to `length` bytes.
    public static func truncate(_ fd: Int32, to length: UInt64) throws(SystemError) {
        _ = try Sys.blocking("ftruncate") { Syscall.ftruncate(fd, Int64(length)) }
    }

    /// `lseek(2)` to `offset` from the start; returns the new position.
    @discardableResult
    public static func seek(_ fd: Int32, to offset: UInt64) throws(SystemError) -> UInt64 {
        UInt64(try Sys.blocking("lseek") { Syscall.lseek(fd, Int64(offset), SEEK_SET) })
    }

    /// `lseek(2)` to the end of the file; returns the new position (the file's size).
    @discardableResult
    public static func seekToEnd(_ fd: Int32) throws(SystemError) -> UInt64 {
        UInt64(try Sys.blocking("lseek") { Syscall.lseek(fd, 0, SEEK_END) })
    }

    /// The entry names of a directory in the order `readdir` gives them, without "." and "..". The error's
    /// `call` is "opendir" or "readdir".
    public static func directoryEntries(_ path: String) throws(SystemError) -> [String] {
        var opened: OpaquePointer?
        while true {
            opened = Syscall.opendir(path)
            if opened != nil { break }
            let e = errno
            if e == EINTR { continue }
            throw SystemError("opendir", errno: e, path: path)
        }
        guard let dir = opened else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0  // readdir returns nil at the end and on an error; only errno tells them apart
            guard let entry = readdir(dir) else {
                if errno != 0 { throw SystemError("readdir", errno: errno, path: path) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    /// Whether `path` exists (`access(F_OK)`, following symlinks).
    public static func exists(_ path: String) -> Bool {
        Syscall.access(path, F_OK) == 0
    }

    /// `access(2)`: whether this process may use `path` as `mode` says (`R_OK | W_OK | X_OK`, …).
    public static func checkAccess(_ path: String, _ mode: Int32) throws(SystemError) {
        _ = try Sys.blocking("access", path: path) { Syscall.access(path, mode) }
    }

    /// Sets the access time to now and leaves the modification time alone (`futimens` with UTIME_NOW and
    /// UTIME_OMIT). Bookkeeping only (an LRU order): a failure is not reported.
    public static func touchAccessTime(_ fd: Int32) {
        // <sys/stat.h> defines these as macros Swift does not import (Linux values, stable ABI).
        let utimeNow = (1 << 30) - 1
        let utimeOmit = (1 << 30) - 2
        let times = [timespec(tv_sec: 0, tv_nsec: utimeNow), timespec(tv_sec: 0, tv_nsec: utimeOmit)]
        _ = times.withUnsafeBufferPointer { Syscall.futimens(fd, $0.baseAddress!) }
    }
}
