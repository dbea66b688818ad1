//===----------------------------------------------------------------------===//
// ImageGate: the read cache's source of slices: Range GETs of the bucket's objects.
//===----------------------------------------------------------------------===//
import GateCore
import S3Client
import SliceCache

/// Streams a byte range of an object to the read cache, chunk by chunk as libcurl receives it. Blocking: the
/// cache calls it on a dedicated thread. A store that fails or stops answering within `blobs.timeout` is a
/// `GateError` with the reason (Docs/object-storage.md, "Errors").
public struct S3SliceSource: SliceSource {
    public let client: S3Client

    public init(client: S3Client) { self.client = client }

    public func fetchRange(
        key: String, offset: UInt64, length: UInt64, deliver: (UnsafeRawBufferPointer) -> Bool
    ) throws(GateError) {
        let got: S3GetResult
        do {
            got = try withoutActuallyEscaping(deliver) { sink throws(S3Error) in
                try client.getObject(key: key, range: S3ByteRange(offset: offset, length: length), sink: sink)
            }
        } catch {
            throw error.gateError
        }
        guard got.bytesDelivered == length else {
            throw GateError.io("object store sent \(got.bytesDelivered) of \(length) bytes of \(key)")
        }
    }
}
