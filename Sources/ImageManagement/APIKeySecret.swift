//===----------------------------------------------------------------------===//
// ImageGate: API key secrets: format, generation, parsing and the stored hash.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore

/// `igk_<12 hex key id>_<43 base64url characters = 32 random bytes>` (60 characters).
///
/// The prefix makes leaked keys findable by secret scanners; the key id is public (listed, audited) and is
/// how the key is looked up; the random part is the secret. Only hex SHA-256 of the whole secret is
/// stored: 256 random bits need no slow hash (Docs/protocols.md §7.2).
public enum APIKeySecret {
    public static let prefix = "igk_"
    static let idHexLength = 12
    static let randomLength = 43
    public static let length = prefix.count + idHexLength + 1 + randomLength

    /// A new key id and its secret. The secret is shown once and never stored.
    public static func generate() -> (keyID: String, secret: String) {
        let keyID = prefix + Hex.encode(Crypto.randomBytes(idHexLength / 2))
        return (keyID, keyID + "_" + Base64URL.encode(Crypto.randomBytes(32)))
    }

    /// The key id of a well-formed secret, nil otherwise. Positions are fixed because the base64url part
    /// may itself contain `_`.
    public static func keyID(of secret: String) -> String? {
        let bytes = Array(secret.utf8)
        guard bytes.count == length, secret.hasPrefix(prefix) else { return nil }
        let idEnd = prefix.count + idHexLength
        guard bytes[idEnd] == UInt8(ascii: "_") else { return nil }
        let hex = bytes[prefix.count..<idEnd]
        guard hex.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        guard let random = Base64URL.decode(bytes[(idEnd + 1)...]), random.count == 32 else { return nil }
        return String(decoding: bytes[..<idEnd], as: UTF8.self)
    }

    public static func isKeyID(_ text: String) -> Bool {
        text.utf8.count == prefix.count + idHexLength
            && keyID(of: text + "_" + String(repeating: "A", count: randomLength)) != nil
    }

    /// What the catalog stores: lower-case hex SHA-256 of the secret's UTF-8 bytes.
    public static func hash(_ secret: String) -> String {
        Hex.encode(Crypto.sha256(Array(secret.utf8)))
    }
}
