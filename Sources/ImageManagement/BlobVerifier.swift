//===----------------------------------------------------------------------===//
// ImageGate: re-hashing stored blobs against the catalog (scrub), at a bounded rate.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import GateCore
import ImageCatalog
import SystemIO

/// What re-reading one image's blob found.
public enum BlobCheck: Sendable, Equatable {
    /// Size and SHA-256 match the catalog.
    case intact
    /// The blob file is gone (or is not a regular file).
    case missing
    /// The blob has another size than the catalog records (the bytes were never hashed).
    case wrongSize(actual: UInt64)
    /// Right size, other bytes: silent corruption.
    case wrongDigest(actual: String)
    /// The blob could not be read (EIO, permissions): nothing is concluded about its bytes.
    case unreadable(String)
    /// The image changed while it was read (deleted, re-imported): the result says nothing about it any more.
    case superseded
    /// Stopped on request before the end.
    case interrupted

    /// True when the catalog must stop serving the image: its bytes are not the ones it promises.
    public var isCorrupt: Bool {
        switch self {
        case .missing, .wrongSize, .wrongDigest: true
        case .intact, .unreadable, .superseded, .interrupted: false
        }
    }

    /// The failure reason recorded on the image (shown to the tenant) for a corrupt result.
    public func reason(expected: ImageRecord) -> String {
        switch self {
        case .missing: "verify: the image's bytes are missing from the blob store"
        case .wrongSize(let actual):
            "verify: the stored bytes are \(actual) bytes, the catalog records \(expected.size)"
        case .wrongDigest(let actual):
            "verify: the stored bytes have SHA-256 \(actual), the catalog records \(expected.sha256)"
        case .unreadable(let why): "verify: the stored bytes cannot be read: \(why)"
        case .intact: "intact"
        case .superseded: "changed while being verified"
        case .interrupted: "interrupted"
        }
    }
}

/// Reads a blob from start to end through SHA-256, no faster than `bytesPerSecond` (0: as fast as the disk
/// allows), so a scrub of terabytes does not starve downloads of disk bandwidth. Blocking: run it on a thread of
/// its own or in a CLI process, never on the cooperative pool or an event loop.
public struct BlobVerifier: Sendable {
    public let blobs: any BlobStorage
    public let bytesPerSecond: UInt64
    /// Bytes per read (1 MiB; smaller in tests, to cover reads that end mid-blob).
    public let chunkSize: Int

    public init(blobs: any BlobStorage, bytesPerSecond: UInt64, chunkSize: Int = 1 << 20) {
        precondition(chunkSize > 0)
        self.blobs = blobs
        self.bytesPerSecond = bytesPerSecond
        self.chunkSize = chunkSize
    }

    /// Checks `image`'s blob against its recorded size and digest.
    /// - Parameters:
    ///   - progress: called after each chunk with the bytes hashed so far.
    ///   - shouldStop: polled between chunks; true ends the check with `.interrupted`.
    public func check(
        _ image: ImageRecord, progress: (UInt64) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) -> BlobCheck {
        guard let size = blobs.blobSize(image.id) else { return .missing }
        // A size mismatch is already proof; reading terabytes to confirm it would only cost disk time.
        guard size == image.size else { return .wrongSize(actual: size) }
        let reader: any BlobReader
        do {
            reader = try blobs.openReader(
                BlobVersion(image: image.id, generation: image.generation), expectedSize: image.size)
        } catch {
            // Gone or changed between the size check and the open: look again, so a missing blob says so.
            guard let now = blobs.blobSize(image.id) else { return .missing }
            return now == image.size ? .unreadable(error.message) : .wrongSize(actual: now)
        }

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        let hasher = SHA256Hasher()
        var done: UInt64 = 0
        let started = Monotonic.microseconds()
        var advised: Int32 = -1
        while true {
            if shouldStop() { return .interrupted }
            let n: Int
            do {
                n = try Self.read(reader, at: done, into: buffer, advised: &advised)
            } catch {
                return .unreadable(error.message)
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            done += UInt64(n)
            progress(done)
            pace(done: done, since: started, shouldStop: shouldStop)
        }
        // Bytes cut since the open end the reads early and change the count.
        guard done == image.size else { return .wrongSize(actual: done) }
        let digest = Hex.encode(hasher.finish())
        return digest == image.sha256 ? .intact : .wrongDigest(actual: digest)
    }

    /// Sleeps until `done` bytes are no more than `bytesPerSecond` allows since `since`, in short naps so a
    /// stop request is seen quickly even at a rate of a few bytes per second.
    private func pace(done: UInt64, since: Int64, shouldStop: () -> Bool) {
        guard bytesPerSecond > 0 else { return }
        let due = since + Int64(Double(done) / Double(bytesPerSecond) * 1_000_000)
        while !shouldStop() {
            let ahead = due - Monotonic.microseconds()
            if ahead <= 0 { return }
            usleep(UInt32(min(ahead, 200_000)))
        }
    }

    /// One `pread` from wherever the store keeps the bytes at `offset` (0 at the end of the blob). Each new
    /// descriptor (the blob, or a cached slice of it) is first advised as read front to back
    /// (POSIX_FADV_SEQUENTIAL: Linux doubles the read-ahead window), as the scrub did before the storage seam.
    private static func read(
        _ reader: any BlobReader, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer, advised: inout Int32
    ) throws(GateError) -> Int {
        guard offset < reader.size else { return 0 }
        let extent = try reader.extent(at: offset, maxLength: UInt64(buffer.count))
        defer { withExtendedLifetime(extent) {} }
        if extent.fd != advised {
            FileIO.adviseSequential(extent.fd)
            advised = extent.fd
        }
        do {
            return try FileIO.pread(
                extent.fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<Int(extent.length)]),
                at: extent.offset)
        } catch {
            throw GateError.io("cannot read the blob of the image: \(error.reason)")
        }
    }
}
