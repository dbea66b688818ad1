//===----------------------------------------------------------------------===//
// ImageGate: the one atomic file write: temporary file in the same directory, fsync, rename (or link) into
// place, fsync of the directory. A crash leaves the old file or the new one, never a torn one.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// Which step of an atomic write failed, on which path, and the failed call with its errno.
public struct AtomicFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Step: Sendable, Equatable {
        /// Creating the temporary file (`open` with O_EXCL, or the `fchmod` that follows).
        case create
        case write
        /// `fsync` of the file (or the `close` after it, which can report a deferred write error on NFS).
        case sync
        /// `rename` (or `link`) into place.
        case place
        /// `fsync` of the directory: the file is in place but the new name may not survive a crash.
        case syncDirectory
    }

    public let step: Step
    /// The temporary file (create, write, sync), the final path (place) or the directory (syncDirectory).
    public let path: String
    public let cause: SystemError

    public init(_ step: Step, path: String, cause: SystemError) {
        self.step = step
        self.path = path
        self.cause = cause
    }

    public var errno: Int32 { cause.errno }
    /// `strerror` text of the cause.
    public var reason: String { cause.reason }
    public var description: String { "\(cause.call) \(path): \(reason)" }
}

public enum AtomicFile {
    public enum Placement: Sendable {
        /// `rename(2)`: replaces an existing file.
        case replace
        /// `link(2)`: fails with EEXIST when the file exists (first writer wins, nobody sees a half-written file).
        case createNew
    }

    /// Writes `bytes` to `path` atomically and durably: a new temporary file `.<name>.tmp-<random>` next to it
    /// (O_EXCL, O_NOFOLLOW, `mode`), all bytes, `fsync` (checked), `rename` or `link` into place, `fsync` of the
    /// directory (checked). `enforceMode` sets `mode` exactly with `fchmod` (the umask can only remove bits);
    /// otherwise the umask applies as with any `open`. On a failure before the file is in place the old file
    /// is untouched and the temporary file is removed.
    public static func write(
        _ bytes: [UInt8], to path: String, mode: mode_t, enforceMode: Bool = false, placement: Placement = .replace
    ) throws(AtomicFileError) {
        let (fd, temp) = try createTemporary(for: path, mode: mode, enforceMode: enforceMode)
        do throws(AtomicFileError) {
            do {
                try FileIO.writeAll(fd, bytes)
            } catch {
                Sys.close(fd)
                throw AtomicFileError(.write, path: temp, cause: error)
            }
            try commit(fd: fd, temporary: temp, to: path, placement: placement)
        } catch {
            if error.step != .syncDirectory { FileIO.remove(temp) }
            throw error
        }
    }

    /// The second half, for a file written bit by bit (an import's staging file): `fsync(fd)` (checked),
    /// `close`, `rename` or `link` of `temporary` to `path`, `fsync` of `path`'s directory (checked). Always
    /// consumes `fd`. On failure before the file is in place `temporary` is left for the caller; after it, no
    /// name but `path` is left (with `.createNew` the temporary name is removed before the directory sync).
    public static func commit(fd: Int32, temporary: String, to path: String, placement: Placement = .replace)
        throws(AtomicFileError)
    {
        do {
            try FileIO.fsync(fd)
        } catch {
            Sys.close(fd)
            throw AtomicFileError(.sync, path: temporary, cause: error)
        }
        // close can report a deferred write error (NFS); after a successful fsync it is informational, but a
        // failure still means the bytes are in doubt.
        guard Glibc.close(fd) == 0 || errno == EINTR else {
            throw AtomicFileError(.sync, path: temporary, cause: SystemError("close", errno: errno))
        }
        do throws(SystemError) {
            switch placement {
            case .replace: try FileIO.rename(temporary, to: path)
            case .createNew:
                try FileIO.link(temporary, to: path)
                FileIO.remove(temporary)
            }
        } catch {
            throw AtomicFileError(.place, path: path, cause: error)
        }
        let directory = parentDirectory(of: path)
        do {
            try FileIO.syncDirectory(directory)
        } catch {
            throw AtomicFileError(.syncDirectory, path: directory, cause: error)
        }
    }

    /// The directory part of `path` ("." for a bare name).
    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    private static func createTemporary(for path: String, mode: mode_t, enforceMode: Bool) throws(AtomicFileError)
        -> (Int32, String)
    {
        let directory = parentDirectory(of: path)
        let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        var attempt = 0
        while true {
            let suffix = String(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF, radix: 16)
            let temp = directory + "/." + name + ".tmp-" + suffix
            let fd: Int32
            do {
                fd = try FileIO.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode: mode)
            } catch {
                attempt += 1
                if error.errno == EEXIST && attempt < 8 { continue }
                throw AtomicFileError(.create, path: temp, cause: error)
            }
            if enforceMode {
                do {
                    try FileIO.setPermissions(of: fd, mode)
                } catch {
                    Sys.close(fd)
                    FileIO.remove(temp)
                    throw AtomicFileError(
                        .create, path: temp, cause: SystemError("fchmod", errno: error.errno, path: temp))
                }
            }
            return (fd, temp)
        }
    }
}
