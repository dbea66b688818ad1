//===----------------------------------------------------------------------===//
// ImageGate: a blob reader and a ServedFile over a plain test file (the blob store's reader, minus the store),
// shared by the FTP, SFTP and HTTP writer tests.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore

/// The test file at `path`, opened when the front asks (as the local blob store's reader does).
public final class PathBlobReader: BlobReader {
    public let fd: Int32
    public let size: UInt64

    public init(path: String) throws(GateError) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0 else { throw GateError.io("cannot open \(path)") }
        size = UInt64(st.st_size)
    }

    public func extent(at offset: UInt64, maxLength: UInt64) throws(GateError) -> BlobExtent {
        BlobExtent(fd: fd, offset: offset, length: offset < size ? min(maxLength, size - offset) : 0)
    }

    public func isCurrent() -> Bool { true }

    deinit { if fd >= 0 { close(fd) } }
}

/// A file whose bytes from `failFrom` on cannot be fetched: the store is down (what the slice cache's reader
/// throws then).
public final class FailingStoreReader: PreparableBlobReader {
    public let file: PathBlobReader
    public let failFrom: UInt64
    public init(path: String, failFrom: UInt64) throws {
        file = try PathBlobReader(path: path)
        self.failFrom = failFrom
    }
    public var size: UInt64 { file.size }
    public func isCurrent() -> Bool { true }
    public static let down = GateError.unavailable("object store unreachable: connection refused")

    public func prepare(at offset: UInt64, then ready: @escaping @Sendable (GateError?) -> Void) -> Bool {
        if offset < failFrom { return true }
        ready(Self.down)
        return false
    }

    public func extent(at offset: UInt64, maxLength: UInt64) throws(GateError) -> BlobExtent {
        guard offset < failFrom else { throw Self.down }
        return try file.extent(at: offset, maxLength: min(maxLength, failFrom - offset))
    }
}

extension ServedFile {
    public static func fixture(
        name: String, path: String, size: UInt64, modified: Int64, logID: String = "igt1.0000.0000…",
        otherNames: [String] = []
    ) -> ServedFile {
        let grant = DownloadGrant(
            image: ImageID(ID128(high: 1, low: 2)), generation: 1, tenant: TenantID.defaultTenant,
            serial: ID128(high: 3, low: 4), keyID: 1, expiresAt: Int64.max / 2, protocols: 0xF, fileName: name,
            otherNames: otherNames, logID: logID, confirmedAt: 0)
        return ServedFile(
            name: name, otherNames: otherNames, size: size, modified: modified, grant: grant,
            open: { () throws(GateError) -> any BlobReader in try PathBlobReader(path: path) })
    }
}
