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
        let length = first.count + second.count
        guard length <= Self.maxPaddedLength else { return macStreaming(first, second, into: out) }
        // A message of at most two blocks once padded (a token's 114 bytes): the padding is written here and the
        // compression function runs on the blocks directly, without SHA256_Update's buffering and Final's
        // bookkeeping (about 600 of a forged token's instructions).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { storage in
            let block = storage.baseAddress!
            if let f = first.baseAddress { UnsafeMutableRawPointer(block).copyMemory(from: f, byteCount: first.count) }
            if let s = second.baseAddress {
                UnsafeMutableRawPointer(block + first.count).copyMemory(from: s, byteCount: second.count)
            }
            // RFC 6234 §4.1: 0x80, zeros, then the bit length of everything hashed (the 64-byte pad block too).
            let end = length <= 55 ? 64 : 128
            block[length] = 0x80
            (block + length + 1).initialize(repeating: 0, count: end - 8 - length - 1)
            Self.storeBigEndian(UInt64(64 + length) * 8, at: block + end - 8)
            var ctx = inner
            COpenSSL_SHA256_Transform(&ctx, block)
            if end == 128 { COpenSSL_SHA256_Transform(&ctx, block + 64) }
            // The outer hash: the inner digest (32 bytes) after the opad block, padded to one block.
            Self.storeDigest(ctx, at: block)
            block[32] = 0x80
            (block + 33).initialize(repeating: 0, count: 56 - 33)
            Self.storeBigEndian(UInt64(64 + 32) * 8, at: block + 56)
            ctx = outer
            COpenSSL_SHA256_Transform(&ctx, block)
            Self.storeDigest(ctx, at: out)
        }
    }

    /// Longest message that fits two blocks with its padding (0x80 and the 8-byte length).
    static let maxPaddedLength = 128 - 9

    private func macStreaming(
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

    /// The digest of a context whose blocks are all compressed: its eight words, big-endian (as SHA256_Final).
    private static func storeDigest(_ ctx: SHA256_CTX, at p: UnsafeMutablePointer<UInt8>) {
        withUnsafeBytes(of: ctx.h) { words in
            for i in 0..<8 {
                let w = words.load(fromByteOffset: i * 4, as: UInt32.self)
                p[i * 4] = UInt8(truncatingIfNeeded: w >> 24)
                p[i * 4 + 1] = UInt8(truncatingIfNeeded: w >> 16)
                p[i * 4 + 2] = UInt8(truncatingIfNeeded: w >> 8)
                p[i * 4 + 3] = UInt8(truncatingIfNeeded: w)
            }
        }
    }

    private static func storeBigEndian(_ v: UInt64, at p: UnsafeMutablePointer<UInt8>) {
        for i in 0..<8 { p[i] = UInt8(truncatingIfNeeded: v >> UInt64(56 - 8 * i)) }
    }

    public static func == (a: HMACSHA256Key, b: HMACSHA256Key) -> Bool { a.key == b.key }
}
