//===----------------------------------------------------------------------===//
// ImageGate: private-file primitives for key material (0700 dir, 0600 files, atomic replace, flock).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import GateCore

/// Identity and version of a file as `stat` sees it. The atomic replace gives every new version a new inode,
/// so `ino` alone usually tells; size and nanosecond mtime catch in-place edits by an administrator.
struct FileStamp: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var mtimeSeconds: Int64
    var mtimeNanoseconds: Int64
}

/// Syscall-level helpers. Everything here keeps secrets out of error messages: messages name paths and
/// `strerror` text only.
enum KeyFiles {
    static let directoryMode: mode_t = 0o700
    static let fileMode: mode_t = 0o600
    /// A key file is a few hundred bytes per key; anything larger is not ours.
    static let readLimit = 1 << 20

    static func failure(_ what: String, _ path: String, _ code: Int32 = errno) -> GateError {
        GateError.io("\(what) \(path): \(String(cString: strerror(code)))")
    }

    /// Creates `path` with mode 0700 if missing; tightens an existing directory we own to 0700, because
    /// group- or world-readable key material is a leak waiting for a shell account (Docs/protocols.md §3.6).
    static func ensurePrivateDirectory(_ path: String) throws(GateError) {
        if mkdir(path, directoryMode) != 0 && errno != EEXIST { throw failure("cannot create key directory", path) }
        var st = stat()
        guard stat(path, &st) == 0 else { throw failure("cannot stat key directory", path) }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw GateError.io("key directory \(path) is not a directory") }
        if st.st_mode & 0o077 != 0 || st.st_mode & 0o700 != 0o700 {
            guard chmod(path, directoryMode) == 0 else { throw failure("cannot chmod 0700 key directory", path) }
        }
    }

    static func stamp(_ path: String) -> FileStamp? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return stamp(st)
    }

    private static func stamp(_ st: stat) -> FileStamp {
        FileStamp(
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
            mtimeSeconds: Int64(st.st_mtim.tv_sec), mtimeNanoseconds: Int64(st.st_mtim.tv_nsec))
    }

    /// Reads a whole regular file, or nil if it does not exist. Refuses symlinks (O_NOFOLLOW) and
    /// tightens a loose mode to 0600.
    static func read(_ path: String) throws(GateError) -> (bytes: [UInt8], stamp: FileStamp)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw failure("cannot open", path)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw failure("cannot stat", path) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw GateError.io("\(path) is not a regular file") }
        guard Int(st.st_size) <= readLimit else { throw GateError.io("\(path) is too large") }
        if st.st_mode & 0o077 != 0 {
            guard fchmod(fd, fileMode) == 0 else { throw failure("cannot chmod 0600", path) }
        }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read", path)
            }
            if n == 0 { break }
            out += buf[0..<n]
            guard out.count <= readLimit else { throw GateError.io("\(path) is too large") }
        }
        return (out, stamp(st))
    }

    /// Replaces `directory/name` atomically: write a 0600 temp file, fsync, rename over, fsync the
    /// directory, so a crash leaves either the old or the new file, never a torn one.
    static func writeAtomically(directory: String, name: String, bytes: [UInt8]) throws(GateError) {
        let final = directory + "/" + name
        let temp = directory + "/." + name + ".tmp-" + Hex.encode(Crypto.randomBytes(6))
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, fileMode)
        guard fd >= 0 else { throw failure("cannot create", temp) }
        var ok = false
        defer {
            if !ok { unlink(temp) }
        }
        do {
            defer { close(fd) }
            // The umask can only remove bits; set 0600 explicitly so the result never depends on it.
            guard fchmod(fd, fileMode) == 0 else { throw failure("cannot chmod 0600", temp) }
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("cannot write", temp)
                }
                off += n
            }
            guard fsync(fd) == 0 else { throw failure("cannot fsync", temp) }
        }
        guard rename(temp, final) == 0 else { throw failure("cannot rename into place", final) }
        ok = true
        try syncDirectory(directory)
    }

    static func syncDirectory(_ directory: String) throws(GateError) {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw failure("cannot open directory", directory) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw failure("cannot fsync directory", directory) }
    }

    /// Runs `body` holding an exclusive `flock` on the directory, so a CLI `key rotate` and a server
    /// creating the files on first start never interleave their read-modify-write cycles. flock locks
    /// belong to the open file description, so this also serialises threads of one process.
    static func withLock<T>(directory: String, _ body: () throws(GateError) -> T) throws(GateError) -> T {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw failure("cannot open directory", directory) }
        defer { close(dfd) }
        while flock(dfd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw failure("cannot lock directory", directory) }
        }
        defer { flock(dfd, LOCK_UN) }
        return try body()
    }
}
