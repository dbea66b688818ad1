//===----------------------------------------------------------------------===//
// ImageGate: the few POSIX file operations the catalog needs, with errno mapped to GateError.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import SystemIO

/// Directory helpers and errno → `GateError` for the catalog stores (package-internal). The reads, writes
/// and syncs themselves are SystemIO's (`FileIO`, `AtomicFile`).
package enum FileSystem {
    /// `GateError` for the current `errno`, classified so the CLI can say "not found" vs "denied".
    package static func error(_ what: String, errno code: Int32 = errno) -> GateError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOENT, ENOTDIR: return GateError(.notFound, "\(what): \(reason)")
        case EACCES, EPERM: return GateError(.permissionDenied, "\(what): \(reason)")
        default: return GateError(.io, "\(what): \(reason)")
        }
    }

    package static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    package static func lastComponent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// `mkdir -p` with mode 0700 for the directories it creates (existing ones are left alone).
    package static func makeDirectories(_ path: String) throws(GateError) {
        do {
            try FileIO.makeDirectories(path, mode: 0o700)
        } catch {
            if error.errno == EEXIST, let inTheWay = error.path {
                throw .io("\(inTheWay) exists and is not a directory")
            }
            throw Self.error("cannot create directory \(error.path ?? path)", errno: error.errno)
        }
    }

    /// fsync a directory so a rename or unlink inside it is durable.
    package static func syncDirectory(_ path: String) throws(GateError) {
        do {
            try FileIO.syncDirectory(path)
        } catch {
            let what = error.call == "open" ? "cannot open directory \(path)" : "fsync of directory \(path) failed"
            throw Self.error(what, errno: error.errno)
        }
    }

    /// Size of a regular file, nil if it does not exist or is not a regular file (no symlink following:
    /// blobs are always plain files we wrote).
    package static func regularFileSize(_ path: String) -> UInt64? {
        guard let st = try? FileIO.linkStatus(path), st.isRegularFile else { return nil }
        return st.size
    }

    /// Entry names of a directory, without "." and ".."; empty if it cannot be read.
    package static func directoryEntries(_ path: String) -> [String] {
        ((try? FileIO.directoryEntries(path)) ?? []).sorted()
    }

    /// `read` retrying on EINTR; returns 0 at end of file.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(GateError) -> Int {
        do {
            return try FileIO.read(fd, into: buffer)
        } catch {
            throw Self.error("read failed", errno: error.errno)
        }
    }
}
