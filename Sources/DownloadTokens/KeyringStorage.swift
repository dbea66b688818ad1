//===----------------------------------------------------------------------===//
// ImageGate: where the keyring and the deployment id are kept: the seam between TokenKeyStore and its storage
// (the data directory's key files, or a catalog shared by several nodes).
//===----------------------------------------------------------------------===//
import GateCore

/// An opaque version of the stored keyring: two reads with equal versions saw the same text.
public struct KeyringVersion: Hashable, Sendable {
    public let tag: String

    public init(_ tag: String) {
        self.tag = tag
    }
}

/// The keyring's text (`KeyringText`) as stored, with its version.
public struct StoredKeyring: Sendable, Equatable {
    public var text: String
    public var version: KeyringVersion

    public init(text: String, version: KeyringVersion) {
        self.text = text
        self.version = version
    }
}

/// What a read of the keyring found.
public enum KeyringRead: Sendable, Equatable {
    /// Nothing is stored yet.
    case missing
    /// The stored version is the one the caller named: the text was not read again.
    case unchanged
    case current(StoredKeyring)
}

/// Storage for `TokenKeyStore`: one keyring text replaced only by compare-and-swap, and one deployment id
/// created once. Every writer (a server, a CLI `key rotate` on any node) reads, changes and writes back with
/// the version it read, so no concurrent change is ever lost: the loser re-reads and applies its change again.
/// Implementations: `KeyFileStorage` (keys/ in the data directory, the embedded default) and, in the app, the
/// catalog's shared documents (Docs/tokens.md "Keyring storage").
public protocol KeyringStorage: Sendable {
    /// Names the keyring's place in messages ("key file /…/token-keys.json"); never any of its content.
    var keyringLocation: String { get }
    /// Names the deployment id's place in messages.
    var deploymentIDLocation: String { get }

    /// The stored keyring. With `seen` equal to the stored version the answer may be `.unchanged` (a file
    /// store answers from one `stat`).
    func readKeyring(unlessVersion seen: KeyringVersion?) throws(GateError) -> KeyringRead

    /// Compare-and-swap: stores `text` when the stored version is `expected` (nil: only when nothing is stored
    /// yet). Returns what is stored afterwards and whether it is this call's text. A keyring that vanished
    /// while `expected` named a version is an error, never a silent re-creation.
    func replaceKeyring(with text: String, expected: KeyringVersion?) throws(GateError)
        -> (stored: StoredKeyring, written: Bool)

    /// The deployment id's text. When none is stored, stores `fresh` first; of several processes doing so
    /// at once exactly one succeeds and all get its text.
    func deploymentID(orCreate fresh: String) throws(GateError) -> String
}
