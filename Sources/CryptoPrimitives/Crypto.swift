//===----------------------------------------------------------------------===//
// ImageGate: the few OpenSSL primitives ImageGate needs, behind Swift names.
//===----------------------------------------------------------------------===//
import COpenSSL

/// Streaming SHA-256 (OpenSSL EVP). Not Sendable: one hasher belongs to one import or one thread.
public final class SHA256Hasher {
    private let ctx: OpaquePointer

    public init() {
        guard let c = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        ctx = c
        precondition(EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(sha256) failed")
    }

    public func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        precondition(EVP_DigestUpdate(ctx, buffer.baseAddress, buffer.count) == 1)
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Returns the 32-byte digest. The hasher must not be used afterwards.
    public func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        precondition(EVP_DigestFinal_ex(ctx, &out, &len) == 1 && len == 32)
        return out
    }

    deinit { EVP_MD_CTX_free(ctx) }
}

@available(*, unavailable)
extension SHA256Hasher: Sendable {}

public enum Crypto {
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        let h = SHA256Hasher()
        h.update(bytes)
        return h.finish()
    }

    /// One-shot HMAC-SHA256 (`HMAC()` is not deprecated in OpenSSL 3.0; only `HMAC_CTX_*` is).
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                HMAC(
                    EVP_sha256(), k.baseAddress, Int32(k.count), m.bindMemory(to: UInt8.self).baseAddress,
                    m.count, &out, &len)
            }
        }
        precondition(ok != nil && len == 32, "HMAC-SHA256 failed")
        return out
    }

    /// HKDF-SHA256 (RFC 5869) for outputs of at most 32 bytes: one expand block is all ImageGate needs.
    public static func hkdfSHA256(secret: [UInt8], salt: [UInt8], info: [UInt8], length: Int = 32) -> [UInt8] {
        precondition(length > 0 && length <= 32)
        let prk = hmacSHA256(key: salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt, message: secret)
        return Array(hmacSHA256(key: prk, message: info + [1]).prefix(length))
    }

    /// `constantTimeEqual` below on bytes where they are (a forged token's tag, compared without arrays).
    public static func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }

    /// Constant-time equality (`CRYPTO_memcmp`); lengths are compared first, lengths are public.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) }
        }
            == 0
    }

    /// Cryptographically secure random bytes (`RAND_bytes`).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        precondition(RAND_bytes(&out, Int32(count)) == 1, "RAND_bytes failed")
        return out
    }
}
