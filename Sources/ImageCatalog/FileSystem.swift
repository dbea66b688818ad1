//===----------------------------------------------------------------------===//
// ImageGate: the few POSIX file operations the catalog needs, with errno mapped to GateError.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore

/// Thin helpers over Glibc. Package-internal (the catalog stores use them): the rest of the program uses SystemIO; the catalog only
/// needs files and directories, and must control fsync ordering itself.
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
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw error("cannot open directory \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw error("fsync of directory \(path) failed") }
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
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw error("read failed")
        }
    }

    /// Writes all of `buffer`, looping over short writes and EINTR.
    package static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(GateError) {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                // ENOSPC/EDQUOT arrive here; n == 0 cannot happen for a regular file, treat it as an error.
                throw error("write to staging file failed", errno: n == 0 ? EIO : errno)
            }
        }
    }
}
