//===----------------------------------------------------------------------===//
// ImageGate: the read-only virtual file system of one session: `/` holding exactly one file.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import Synchronization
import SystemIO

/// Where the bytes of the served file come from. Implemented over a blob descriptor by the server and over
/// memory by the tests.
public protocol SFTPByteSource {
    /// Copies up to `count` bytes at `offset` into `buffer`; returns the count, 0 at end of file, -1 on error.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64) -> Int
    /// The status message for the client after a `read` that returned -1 (nil: the generic "Read error").
    func failureMessage() -> String?
}

extension SFTPByteSource {
    public func failureMessage() -> String? { nil }
}

/// `pread` from the blob store's reader, opened once at login (a deleted blob stays readable until the
/// revalidation check ends the session): the descriptor and offset it names for each stretch.
public struct BlobByteSource: SFTPByteSource {
    public let blob: any BlobReader
    /// The code of the last read's error (an object store's cold slice may fail to arrive).
    private let lastError = LastReadError()
    public init(blob: any BlobReader) { self.blob = blob }

    /// Fills the whole `count` unless the file ends (or a later stretch fails: then the bytes so far). A READ
    /// spanning two slices of an object-store blob must not be answered short: OpenSSH's sftp asks for a short
    /// answer's rest only after the requests it already sent, so a client killed in between leaves a hole below
    /// its file's end, which `reget` then trusts (seen in test_s3_cluster.py's resume across nodes).
    public func read(into buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64) -> Int {
        var done = 0
        while done < count {
            let n = readStretch(into: buffer + done, count: count - done, offset: offset + UInt64(done))
            if n < 0 { return done > 0 ? done : -1 }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// One extent's bytes: up to the end of the slice (or file) holding `offset`.
    private func readStretch(into buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64) -> Int {
        guard offset < blob.size else { return 0 }
        // For a cold slice of an object-store blob this waits for the fetch (this session's own thread).
        let extent: BlobExtent
        do {
            extent = try blob.extent(at: offset, maxLength: UInt64(count))
        } catch {
            lastError.code.withLock { $0 = error.code }
            errno = EIO
            return -1
        }
        defer { withExtendedLifetime(extent) {} }
        do {
            return try FileIO.pread(
                extent.fd, into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(extent.length)),
                at: extent.offset)
        } catch {
            errno = error.errno
            return -1
        }
    }

    /// SSH_FX_FAILURE's text: a store that failed or timed out is worth a retry, and the client is told so
    /// (the details, which may name the store, go to the server's log, not to the client).
    public func failureMessage() -> String? {
        lastError.code.withLock { $0 } == .unavailable ? "Storage temporarily unavailable; try again later" : nil
    }
}

/// A box for the last read error: the source is a value copied into the processor, the box is shared.
private final class LastReadError: Sendable {
    let code = Mutex<GateError.Code?>(nil)
}

/// What a path names in the virtual tree.
public enum SFTPNode: Equatable, Sendable {
    case root
    case file
}

/// Lexical path handling. Nothing here touches the real file system, so no path can escape it.
public enum SFTPPath {
    /// Absolute, with `.`, empty segments and `..` resolved; `..` at the root stays at the root
    /// (POSIX: `/..` is `/`). A relative path is taken from `/`, the only working directory there is.
    public static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for seg in path.split(separator: "/", omittingEmptySubsequences: true) {
            if seg == "." { continue }
            if seg == ".." {
                _ = parts.popLast()
                continue
            }
            parts.append(seg)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The node a client path names, or nil. `fileName` is the single file directly under `/`; it also
    /// answers to `otherNames` (a renamed image keeps the name its link was minted with).
    public static func resolve(_ path: String, fileName: String, otherNames: [String] = []) -> SFTPNode? {
        let n = normalize(path)
        if n == "/" { return .root }
        if n == "/" + fileName { return .file }
        if otherNames.contains(where: { n == "/" + $0 }) { return .file }
        return nil
    }
}

/// The tree's attributes and `ls -l` lines (draft-02 §7: `longname` is what OpenSSH `ls -l` prints).
public struct SFTPVirtualFS: Sendable {
    public let file: ServedFile

    public init(file: ServedFile) { self.file = file }

    public var fileAttributes: SFTPAttributes {
        SFTPAttributes(size: file.size, permissions: 0o100444, modified: file.modified)
    }

    public var rootAttributes: SFTPAttributes {
        SFTPAttributes(size: 0, permissions: 0o040555, modified: file.modified)
    }

    public func attributes(_ node: SFTPNode) -> SFTPAttributes {
        node == .root ? rootAttributes : fileAttributes
    }

    /// Looks a path up, throwing the domain error the client sees as NO_SUCH_FILE.
    public func lookup(_ path: String) throws(GateError) -> SFTPNode {
        guard let node = SFTPPath.resolve(path, fileName: file.name, otherNames: file.otherNames) else {
            throw GateError.notFound(SFTPStatus.noSuchFile.message)
        }
        return node
    }

    /// `-r--r--r--    1 0        0        SIZE Mon dd HH:MM name`, the layout of OpenSSH's `ls_file`.
    public static func longName(_ name: String, _ a: SFTPAttributes) -> String {
        let isDir = a.permissions & 0o170000 == 0o040000
        var mode = isDir ? "d" : "-"
        let bits: [(UInt32, Character)] = [
            (0o400, "r"), (0o200, "w"), (0o100, "x"), (0o040, "r"), (0o020, "w"), (0o010, "x"),
            (0o004, "r"), (0o002, "w"), (0o001, "x"),
        ]
        for (bit, ch) in bits { mode.append(a.permissions & bit != 0 ? ch : "-") }
        var size = String(a.size)
        if size.count < 8 { size = String(repeating: " ", count: 8 - size.count) + size }
        return "\(mode)    1 0        0        \(size) \(dateText(a.modified)) \(name)"
    }

    static func dateText(_ t: Int64) -> String {
        var tt = time_t(t)
        var tmv = tm()
        gmtime_r(&tt, &tmv)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = months[Int(max(0, min(11, tmv.tm_mon)))]
        let day = tmv.tm_mday < 10 ? " \(tmv.tm_mday)" : "\(tmv.tm_mday)"
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(month) \(day) \(two(tmv.tm_hour)):\(two(tmv.tm_min))"
    }
}

extension SFTPStatus {
    /// The one mapping from the domain error to an SFTP status (Docs/style.md §2.4; Docs/error-mapping.md).
    public init(_ code: GateError.Code) {
        switch code {
        case .notFound: self = .noSuchFile
        case .permissionDenied, .forbiddenByPolicy, .tokenInvalid: self = .permissionDenied
        case .invalidRequest, .usage: self = .badMessage
        case .unsupported: self = .opUnsupported
        case .conflict, .alreadyExists, .io, .internal, .unavailable: self = .failure
        }
    }
}
