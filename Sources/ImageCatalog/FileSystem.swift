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
        if path.isEmpty || path == "/" || path == "." { return }
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else { throw .io("\(path) exists and is not a directory") }
            return
        }
        try makeDirectories(parentDirectory(of: path))
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw error("cannot create directory \(path)") }
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
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return UInt64(st.st_size)
    }

    /// Entry names of a directory, without "." and ".."; empty if it cannot be read.
    package static func directoryEntries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
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
