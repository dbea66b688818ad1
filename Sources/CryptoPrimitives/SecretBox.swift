//===----------------------------------------------------------------------===//
// ImageGate: authenticated encryption of small secrets at rest (AES-256-GCM, OpenSSL EVP).
//===----------------------------------------------------------------------===//
import COpenSSL

/// Seals short secrets (source URLs with credentials, Docs/protocols.md §4.1) so the catalog never holds them in
/// clear text. Output: 12-byte nonce ‖ ciphertext ‖ 16-byte tag. A fresh random nonce per seal.
public struct SecretBox: Sendable {
    private let key: [UInt8]

    public init?(key: [UInt8]) {
        guard key.count == 32 else { return nil }
        self.key = key
    }

    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        let nonce = Crypto.randomBytes(12)
        guard let ctx = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new: out of memory") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var len: Int32 = 0
        var total = 0
        precondition(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1)
        if !plaintext.isEmpty {
            precondition(EVP_EncryptUpdate(ctx, &out, &len, plaintext, Int32(plaintext.count)) == 1)
            total = Int(len)
        }
        precondition(
            out.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(ctx, $0.baseAddress! + total, &len) } == 1)
        total += Int(len)
        var tag = [UInt8](repeating: 0, count: 16)
        precondition(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, &tag) == 1)
        return nonce + out[0..<total] + tag
    }

    /// nil when the box was not sealed with this key or was altered.
    public func open(_ sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= 28 else { return nil }
        let nonce = Array(sealed[0..<12])
        let body = Array(sealed[12..<(sealed.count - 16)])
        var tag = Array(sealed[(sealed.count - 16)...])
        guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: body.count + 16)
        var len: Int32 = 0
        var total = 0
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { return nil }
        if !body.isEmpty {
            guard EVP_DecryptUpdate(ctx, &out, &len, body, Int32(body.count)) == 1 else { return nil }
            total = Int(len)
        }
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1 else { return nil }
        guard out.withUnsafeMutableBufferPointer({ EVP_DecryptFinal_ex(ctx, $0.baseAddress! + total, &len) }) == 1
        else { return nil }
        total += Int(len)
        return Array(out[0..<total])
    }
}
