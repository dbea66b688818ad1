//===----------------------------------------------------------------------===//
// ImageGate: private-file primitives for key material (0700 dir, 0600 files, atomic replace, flock).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import SystemIO

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
        do {
            try FileIO.makeDirectory(path, mode: directoryMode)
        } catch  where error.errno != EEXIST {
            throw failure("cannot create key directory", path, error.errno)
        } catch {}
        let st: FileStatus
        do {
            st = try FileIO.status(path)
        } catch {
            throw failure("cannot stat key directory", path, error.errno)
        }
        guard st.isDirectory else { throw GateError.io("key directory \(path) is not a directory") }
        if st.mode & 0o077 != 0 || st.mode & 0o700 != 0o700 {
            do {
                try FileIO.setPermissions(path, directoryMode)
            } catch {
                throw failure("cannot chmod 0700 key directory", path, error.errno)
            }
        }
    }

    static func stamp(_ path: String) -> FileStamp? {
        guard let st = try? FileIO.status(path) else { return nil }
        return stamp(st)
    }

    private static func stamp(_ st: FileStatus) -> FileStamp {
        FileStamp(
            device: st.device, inode: st.inode, size: Int64(st.size), mtimeSeconds: st.modifiedSeconds,
            mtimeNanoseconds: st.modifiedNanoseconds)
    }

    /// Reads a whole regular file, or nil if it does not exist. Refuses symlinks (O_NOFOLLOW) and
    /// tightens a loose mode to 0600.
    static func read(_ path: String) throws(GateError) -> (bytes: [UInt8], stamp: FileStamp)? {
        let fd: Int32
        do {
            fd = try FileIO.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        } catch {
            if error.errno == ENOENT { return nil }
            throw failure("cannot open", path, error.errno)
        }
        defer { Sys.close(fd) }
        let st: FileStatus
        do {
            st = try FileIO.status(of: fd)
        } catch {
            throw failure("cannot stat", path, error.errno)
        }
        guard st.isRegularFile else { throw GateError.io("\(path) is not a regular file") }
        guard st.size <= UInt64(readLimit) else { throw GateError.io("\(path) is too large") }
        if st.mode & 0o077 != 0 {
            do {
                try FileIO.setPermissions(of: fd, fileMode)
            } catch {
                throw failure("cannot chmod 0600", path, error.errno)
            }
        }
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.readToEnd(fd, limit: readLimit)
        } catch {
            throw failure("cannot read", path, error.errno)
        }
        guard let bytes else { throw GateError.io("\(path) is too large") }
        return (bytes, stamp(st))
    }

    /// Replaces `directory/name` atomically with a 0600 file (`AtomicFile`: temporary file, fsync, rename over,
    /// fsync of the directory), so a crash leaves either the old or the new file, never a torn one.
    static func writeAtomically(directory: String, name: String, bytes: [UInt8]) throws(GateError) {
        let final = directory + "/" + name
        do {
            // enforceMode: the umask can only remove bits; 0600 exactly so the result never depends on it.
            try AtomicFile.write(bytes, to: final, mode: fileMode, enforceMode: true)
        } catch {
            let what: String
            switch error.step {
            case .create: what = error.cause.call == "fchmod" ? "cannot chmod 0600" : "cannot create"
            case .write: what = "cannot write"
            case .sync: what = "cannot fsync"
            case .place: what = "cannot rename into place"
            case .syncDirectory: what = "cannot fsync directory"
            }
            throw failure(what, error.path, error.errno)
        }
    }

    /// Runs `body` holding an exclusive `flock` on the directory, so a CLI `key rotate` and a server
    /// creating the files on first start never interleave their read-modify-write cycles. flock locks
    /// belong to the open file description, so this also serialises threads of one process.
    static func withLock<T>(directory: String, _ body: () throws(GateError) -> T) throws(GateError) -> T {
        let dfd: Int32
        do {
            dfd = try FileIO.lockDirectory(directory)
        } catch {
            let what = error.call == "open" ? "cannot open directory" : "cannot lock directory"
            throw failure(what, directory, error.errno)
        }
        defer { Sys.close(dfd) }  // releases the lock
        return try body()
    }
}
