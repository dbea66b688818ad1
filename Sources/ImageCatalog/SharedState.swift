//===----------------------------------------------------------------------===//
// ImageGate: state every gateway node shares through the catalog: named documents (signing keys, SSH host
// keys, the deployment id), task leases (one node at a time runs a periodic job) and console sessions.
//===----------------------------------------------------------------------===//
import GateCore

/// A named text kept in the catalog with a version that grows by one on every write, so nodes can replace it
/// with compare-and-swap (`CatalogStore.putDocument`) and never lose another node's concurrent change.
public struct SharedDocument: Sendable, Equatable {
    public var name: String
    public var body: String
    /// 1 for the first write, then +1 per replacement.
    public var version: Int64
    public var updatedAt: Int64

    public init(name: String, body: String, version: Int64, updatedAt: Int64) {
        self.name = name
        self.body = body
        self.version = version
        self.updatedAt = updatedAt
    }
}

/// What `putDocument` did: `document` is what the catalog holds after the call (this call's write, or the
/// other writer's document that won); `written` says which.
public struct SharedDocumentWrite: Sendable, Equatable {
    public var document: SharedDocument
    public var written: Bool

    public init(document: SharedDocument, written: Bool) {
        self.document = document
        self.written = written
    }
}

/// A signed-in web console session as the catalog keeps it (the console's own rules are in the app):
/// keyed by the SHA-256 (hex) of the cookie, never the cookie itself.
public struct ConsoleSessionRecord: Sendable, Equatable {
    public var digest: String
    public var keyID: String
    public var accountID: String
    public var csrfToken: String
    public var createdAt: Int64
    public var lastSeen: Int64

    public init(digest: String, keyID: String, accountID: String, csrfToken: String, createdAt: Int64, lastSeen: Int64)
    {
        self.digest = digest
        self.keyID = keyID
        self.accountID = accountID
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.lastSeen = lastSeen
    }
}
