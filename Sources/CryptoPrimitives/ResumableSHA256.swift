//===----------------------------------------------------------------------===//
// ImageGate: streaming SHA-256 whose midstate can be saved and restored (an import resumed elsewhere).
//===----------------------------------------------------------------------===//
import COpenSSL

/// SHA-256 over OpenSSL's plain `SHA256_CTX`: `state` is the context's bytes (the chaining values, the
/// length so far and the unprocessed block), and `init(state:)` continues from them exactly as the original
/// would have. An import into an object store cannot read back the bytes it already stored, so it saves this
/// state with every part (Docs/object-storage.md, "Resume"). Not Sendable: one hasher per import.
public struct ResumableSHA256 {
    private var ctx = SHA256_CTX()
    public static let stateSize = MemoryLayout<SHA256_CTX>.size

    public init() {
        precondition(COpenSSL_SHA256_Init(&ctx) == 1, "SHA256_Init failed")
    }

    /// Continues from `state` (from `state` of another hasher); nil when it is not a SHA-256 midstate.
    public init?(state: [UInt8]) {
        guard state.count == Self.stateSize else { return nil }
        withUnsafeMutableBytes(of: &ctx) { $0.copyBytes(from: state) }
        // SHA256_CTX.md_len is 32 for SHA-256 (28 would be SHA-224): anything else is not our state.
        guard ctx.md_len == 32 else { return nil }
    }

    public var state: [UInt8] { withUnsafeBytes(of: ctx) { Array($0) } }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        precondition(COpenSSL_SHA256_Update(&ctx, buffer.baseAddress, buffer.count) == 1)
    }

    /// The 32-byte digest (the hasher is spent).
    public mutating func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        precondition(COpenSSL_SHA256_Final(&out, &ctx) == 1)
        return out
    }
}
