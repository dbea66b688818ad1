//===----------------------------------------------------------------------===//
// ImageGate: a streaming digest by algorithm name (tus Upload-Checksum: sha1, sha256, md5).
//===----------------------------------------------------------------------===//
import COpenSSL

/// Streaming digest for the algorithms tus clients use. Not Sendable: one request owns it.
public final class Digest {
    private let ctx: OpaquePointer

    /// `sha1`, `sha256` or `md5` (anything else: sha256).
    public init(algorithm: String) {
        guard let c = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        ctx = c
        let md: OpaquePointer? =
            switch algorithm {
            case "sha1": EVP_sha1()
            case "md5": EVP_md5()
            default: EVP_sha256()
            }
        precondition(EVP_DigestInit_ex(ctx, md, nil) == 1)
    }

    public func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        precondition(EVP_DigestUpdate(ctx, buffer.baseAddress, buffer.count) == 1)
    }

    public func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var len: UInt32 = 0
        precondition(EVP_DigestFinal_ex(ctx, &out, &len) == 1)
        return Array(out.prefix(Int(len)))
    }

    deinit { EVP_MD_CTX_free(ctx) }
}

@available(*, unavailable)
extension Digest: Sendable {}
