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
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            let e = FileSystem.error("the blob is not a regular file", errno: errno == 0 ? EINVAL : errno)
            Glibc.close(fd)
            throw e
        }
        self.fd = fd
        self.path = path
        self.size = UInt64(st.st_size)
        self.device = UInt64(st.st_dev)
        self.inode = UInt64(st.st_ino)
    }

    /// The blob itself holds every byte: the same descriptor and offset, up to the end.
    func extent(at offset: UInt64, maxLength: UInt64) throws(GateError) -> BlobExtent {
        BlobExtent(fd: fd, offset: offset, length: offset < size ? min(maxLength, size - offset) : 0)
    }

    /// True while the path still names this very file with its size: not deleted, replaced, cut or grown.
    func isCurrent() -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        return UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode && UInt64(st.st_size) == size
    }

    deinit { Glibc.close(fd) }
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
        guard ftruncate(fd, off_t(length)) == 0, lseek(fd, off_t(length), SEEK_SET) == off_t(length) else {
            throw FileSystem.error("cannot truncate staging file")
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
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}
