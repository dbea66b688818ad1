//===----------------------------------------------------------------------===//
// ImageGate: the token keyring and deployment id as shared documents of the catalog (several nodes).
//===----------------------------------------------------------------------===//
import DownloadTokens
import GateCore
import ImageCatalog

/// `KeyringStorage` on the catalog's shared documents: "token-keyring" (the key file's JSON, `KeyringText`) and
/// "deployment-id" (32 hex digits). Their versions are the documents' versions; a write is the store's
/// compare-and-swap, so a `key rotate` on one node and a first start on another never lose each other's
/// change (Docs/tokens.md "Keyring storage").
struct CatalogKeyringStorage: KeyringStorage {
    static let keyringDocument = "token-keyring"
    static let deploymentIDDocument = "deployment-id"

    let store: any CatalogStore

    var keyringLocation: String { "shared catalog document '\(Self.keyringDocument)'" }
    var deploymentIDLocation: String { "shared catalog document '\(Self.deploymentIDDocument)'" }

    func readKeyring(unlessVersion seen: KeyringVersion?) throws(GateError) -> KeyringRead {
        guard let doc = try store.document(Self.keyringDocument) else { return .missing }
        let version = Self.version(doc)
        return version == seen ? .unchanged : .current(StoredKeyring(text: doc.body, version: version))
    }

    func replaceKeyring(with text: String, expected: KeyringVersion?) throws(GateError)
        -> (stored: StoredKeyring, written: Bool)
    {
        var expectedNumber: Int64? = nil
        if let expected {
            guard let n = Int64(expected.tag) else { throw GateError.internal("not a catalog keyring version") }
            expectedNumber = n
        }
        let write: SharedDocumentWrite
        do {
            write = try store.putDocument(Self.keyringDocument, body: text, expectedVersion: expectedNumber)
        } catch  where error.code == .conflict {
            // The store's answer when a version was expected and no document is there any more.
            throw GateError.io("\(keyringLocation) disappeared")
        }
        return (StoredKeyring(text: write.document.body, version: Self.version(write.document)), write.written)
    }

    func deploymentID(orCreate fresh: String) throws(GateError) -> String {
        if let doc = try store.document(Self.deploymentIDDocument) { return doc.body }
        return try store.putDocument(Self.deploymentIDDocument, body: fresh, expectedVersion: nil).document.body
    }

    private static func version(_ doc: SharedDocument) -> KeyringVersion { KeyringVersion(String(doc.version)) }
}
