//===----------------------------------------------------------------------===//
// ImageGate: the local blob store's reader (one descriptor, sendfile/pread) and staging file.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import SystemIO

/// A local blob opened read-only. Size and identity (`st_dev`, `st_ino`) are frozen with `fstat` on the
/// opened descriptor, so headers describe exactly the bytes this descriptor sends (Docs/style.md §2.5
/// point 5). Closed exactly once, when the last reference goes.
final class LocalBlobReader: BlobReader {
    let fd: Int32
    let size: UInt64
    let path: String
    private let device: UInt64
    private let inode: UInt64

    init(path: String) throws(GateError) {
        let fd: Int32
        do {
            fd = try FileIO.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        } catch {
            throw FileSystem.error("cannot open the blob", errno: error.errno)
        }
        let st: FileStatus
        do {
            st = try FileIO.status(of: fd)
        } catch {
            Sys.close(fd)
            throw FileSystem.error("the blob is not a regular file", errno: error.errno)
        }
        guard st.isRegularFile else {
            Sys.close(fd)
            throw FileSystem.error("the blob is not a regular file", errno: EINVAL)
        }
        self.fd = fd
        self.path = path
        self.size = st.size
        self.device = st.device
        self.inode = st.inode
    }

    /// The blob itself holds every byte: the same descriptor and offset, up to the end.
    func extent(at offset: UInt64, maxLength: UInt64) throws(GateError) -> BlobExtent {
        BlobExtent(fd: fd, offset: offset, length: offset < size ? min(maxLength, size - offset) : 0)
    }

    /// True while the path still names this very file with its size: not deleted, replaced, cut or grown.
    func isCurrent() -> Bool {
        guard let st = try? FileIO.status(path) else { return false }
        return st.device == device && st.inode == inode && st.size == size
    }

    deinit { Sys.close(fd) }
}

/// A staging file of the local store (`<root>/staging/<image-id>.<random>`), open for appending.
final class LocalBlobStaging: BlobStaging {
    let staged: StagedBlob
    private let store: BlobStore
    private var fd: Int32

    init(store: BlobStore, fd: Int32, staged: StagedBlob) {
        self.store = store
        self.fd = fd
        self.staged = staged
    }

    func append(_ buffer: UnsafeRawBufferPointer) throws(BlobWriteError) {
        do {
            try FileIO.writeAll(fd, buffer)
        } catch {
            throw BlobWriteError(errno: error.errno)  // ENOSPC/EDQUOT arrive here
        }
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(GateError) -> Int {
        do {
            return try FileIO.pread(fd, into: buffer, at: offset)
        } catch {
            throw FileSystem.error("cannot read staging file", errno: error.errno)
        }
    }

    func truncate(to length: UInt64) throws(GateError) {
        do {
            try FileIO.truncate(fd, to: length)
            try FileIO.seek(fd, to: length)
        } catch {
            throw FileSystem.error("cannot truncate staging file", errno: error.errno)
        }
    }

    /// fsync, close, rename into `blobs/`, fsync of `blobs/` (`BlobStore.finalize`). The local layout names the
    /// blob by image only: the generation is the catalog's (see `BlobStore`).
    func finalize(as version: BlobVersion) throws(GateError) {
        guard fd >= 0 else { throw GateError.internal("staging file \(staged.name) was already closed") }
        let fd = self.fd
        self.fd = -1
        try store.finalize(stagingPath: staged.name, fd: fd, id: version.image)
    }

    func abort() {
        close()
        store.removeStaging(staged.name)
    }

    func close() {
        if fd >= 0 { Sys.close(fd) }
        fd = -1
    }

    deinit { close() }
}
