//===----------------------------------------------------------------------===//
// ImageGate: HMAC-SHA256 with the key's pad blocks hashed once (token verification per request).
//===----------------------------------------------------------------------===//
import COpenSSL

/// HMAC-SHA256 (RFC 2104) keyed once: `init` keeps the SHA-256 midstates after `K ⊕ ipad` and `K ⊕ opad`, and
/// every `mac` continues from copies of them. A MAC over n message blocks then costs n + 1 compressions instead
/// of n + 3, and none of the one-shot `HMAC()`'s per-call work (OpenSSL 3 fetches the algorithm and builds a
/// context each time): a flood of well-formed forged tokens verifies one MAC per request (issue 17).
///
/// Same output as `Crypto.hmacSHA256(key:message:)` for every key and message (tests: RFC 4231 and random
/// inputs). `@unchecked Sendable`: the two contexts are plain C structs of integers and bytes, never mutated
/// after `init` (each `mac` works on its own copies).
public struct HMACSHA256Key: @unchecked Sendable, Equatable {
    private let inner: SHA256_CTX
    private let outer: SHA256_CTX
    /// Only for `==` (two keys are equal when their key bytes are).
    private let key: [UInt8]

    public init(_ key: [UInt8]) {
        self.key = key
        // RFC 2104 §2: a key longer than the block is hashed first; then zero-padded to the 64-byte block.
        var block = key.count > 64 ? Crypto.sha256(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        inner = Self.padded(block, 0x36)
        outer = Self.padded(block, 0x5C)
    }

    private static func padded(_ block: [UInt8], _ pad: UInt8) -> SHA256_CTX {
        var ctx = SHA256_CTX()
        precondition(COpenSSL_SHA256_Init(&ctx) == 1, "SHA256_Init failed")
        let xored = block.map { $0 ^ pad }
        precondition(COpenSSL_SHA256_Update(&ctx, xored, xored.count) == 1)
        return ctx
    }

    /// HMAC-SHA256 of `first` followed by `second` (the token's fixed head and its payload, without joining
    /// them into a new array).
    public func mac(_ first: [UInt8], _ second: [UInt8] = []) -> [UInt8] {
        first.withUnsafeBytes { f in
            second.withUnsafeBytes { s in
                [UInt8](unsafeUninitializedCapacity: 32) { out, initialized in
                    mac(f, s, into: out.baseAddress!)
                    initialized = 32
                }
            }
        }
    }

    /// The same into `out` (32 bytes), no array made: a forged token's MAC is computed per request.
    public func mac(
        _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>
    ) {
        var ctx = inner
        _ = COpenSSL_SHA256_Update(&ctx, first.baseAddress, first.count)
        _ = COpenSSL_SHA256_Update(&ctx, second.baseAddress, second.count)
        // The inner hash goes into `out` and is hashed from there: SHA256_Update copies it into the context's
        // block buffer before the final call overwrites `out`.
        precondition(COpenSSL_SHA256_Final(out, &ctx) == 1)
        ctx = outer
        precondition(COpenSSL_SHA256_Update(&ctx, out, 32) == 1)
        precondition(COpenSSL_SHA256_Final(out, &ctx) == 1)
    }

    public static func == (a: HMACSHA256Key, b: HMACSHA256Key) -> Bool { a.key == b.key }
}
