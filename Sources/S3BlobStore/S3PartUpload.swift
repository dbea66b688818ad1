//===----------------------------------------------------------------------===//
// ImageGate: one multipart part uploaded on its own thread while the import receives the next part's bytes.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Dispatch
import Foundation
import GateCore
import Glibc
import S3Client
import Synchronization

/// A part on its way to the store: `UploadPart` (a few attempts for a busy or briefly unreachable store) and the
/// SHA-256 of each of its slices, on a thread of its own (blocking libcurl work never runs on Swift's
/// cooperative pool). The import goes on filling its next buffer meanwhile; `wait` gives the stored part.
///
/// `@unchecked Sendable`: `bytes` is only read while the upload runs (by its thread and by the import's
/// `read(at:)`), and only replaced by `takeBytes` after `wait` returned, when the thread no longer uses it. The
/// thread reads it through `self` rather than capturing a copy, so after the upload the array is uniquely
/// referenced again and the next part refills the same memory instead of faulting in a fresh 64 MiB.
final class PartUpload: @unchecked Sendable {
    let number: Int
    /// The part's bytes, readable while the upload runs.
    private(set) var bytes: [UInt8]
    private let outcome = Mutex<Result<S3StagingRecord.Part, GateError>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(number: Int, bytes: [UInt8], client: S3Client, key: String, uploadID: String, sliceBytes: UInt64) {
        self.number = number
        self.bytes = bytes
        let thread = Thread { [self] in
            let result: Result<S3StagingRecord.Part, GateError>
            do throws(GateError) {
                result = .success(
                    try Self.store(
                        number: number, bytes: self.bytes, client: client, key: key, uploadID: uploadID,
                        sliceBytes: sliceBytes))
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        thread.name = "s3-part-upload"
        thread.start()
    }

    /// Whether the upload ended (stored or failed): `wait` would not block.
    var isFinished: Bool { outcome.withLock { $0 != nil } }

    /// Blocks until the upload ended; the stored part or why it failed. May be called more than once.
    func wait() -> Result<S3StagingRecord.Part, GateError> {
        done.wait()
        done.signal()
        return outcome.withLock { $0! }
    }

    /// The part's buffer, for the next part to fill. Only after `wait` returned (the thread is done with it).
    func takeBytes() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        return taken
    }

    /// Uploads `bytes` as part `number` on the calling thread and computes its slice digests.
    static func store(
        number: Int, bytes: [UInt8], client: S3Client, key: String, uploadID: String, sliceBytes: UInt64
    ) throws(GateError) -> S3StagingRecord.Part {
        var etag = ""
        var attempt = 0
        while true {
            do {
                etag = try client.uploadPart(key: key, uploadID: uploadID, partNumber: number, bytes: bytes)
                break
            } catch where error.isTransient && attempt < 3 {
                attempt += 1
                usleep(UInt32(200_000 << attempt))
            } catch {
                throw GateError.io("cannot store part \(number) of the image: \(error.gateError.message)")
            }
        }
        return S3StagingRecord.Part(
            number: number, etag: etag, size: UInt64(bytes.count), sliceSHA256: sliceDigests(bytes, sliceBytes))
    }

    /// SHA-256 of each slice of a part (parts are a whole number of slices, so slices never straddle parts).
    static func sliceDigests(_ bytes: [UInt8], _ sliceBytes: UInt64) -> [String] {
        let slice = Int(sliceBytes)
        return stride(from: 0, to: bytes.count, by: slice).map { start in
            bytes.withUnsafeBytes { raw in
                let h = SHA256Hasher()
                h.update(UnsafeRawBufferPointer(rebasing: raw[start..<min(start + slice, bytes.count)]))
                return Hex.encode(h.finish())
            }
        }
    }
}
