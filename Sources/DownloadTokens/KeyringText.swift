//===----------------------------------------------------------------------===//
// ImageGate: the keyring's stored text (the JSON of token-keys.json, and of the shared catalog's document).
//===----------------------------------------------------------------------===//
import Foundation
import GateCore

/// `{"format": "imagegate-token-keys-v1", "keys": [{kid, secret (hex), state, createdAt, verifyUntil?}]}`,
/// pretty-printed with sorted keys and a final newline: the same text whether it is a file or a catalog
/// document, so a key file can be imported into a shared catalog as it is.
public enum KeyringText {
    static let formatName = "imagegate-token-keys-v1"

    private struct Document: Codable {
        var format: String
        var keys: [SigningKey]
    }

    public static func encode(_ ring: Keyring) throws(GateError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            let data = try encoder.encode(Document(format: formatName, keys: ring.keys))
            return String(decoding: data, as: UTF8.self) + "\n"
        } catch {
            throw GateError.internal("cannot encode key file")
        }
    }

    /// `location` names the text's place in the error (`KeyringStorage.keyringLocation`).
    public static func decode(_ text: String, location: String) throws(GateError) -> Keyring {
        let doc: Document
        do {
            doc = try JSONDecoder().decode(Document.self, from: Data(text.utf8))
        } catch {
            // Never echo the decoder's message: it may quote the content, and the content is secret.
            throw GateError.io("\(location) is not a valid key file")
        }
        guard doc.format == formatName else { throw GateError.io("\(location) has unknown format") }
        return try Keyring(keys: doc.keys)
    }
}
