//===----------------------------------------------------------------------===//
// ImageGate: the keyring and deployment id, shared between the server and the CLI (and, with a shared
// catalog, between nodes).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import Synchronization

/// The keyring in force and the deployment id, kept in a `KeyringStorage`:
/// - by default `KeyFileStorage`: `token-keys.json` and `deployment-id` (0600) in a private directory (0700);
/// - with a shared catalog, the catalog's documents (ImageGateApp), so every node signs and verifies alike.
///
/// The deployment id (16 random bytes as 32 hex digits) is created once and never changed (changing it
/// invalidates every token, Docs/protocols.md §3.2). A first keyring is created when none is stored. A running
/// server notices a change made by another process or node (`imagegate key rotate`): `keyring()` asks the
/// storage at most once per clock second and reloads when the stored version changed.
public final class TokenKeyStore: Sendable {
    public static let keyFileName = KeyFileStorage.keyFileName
    public static let deploymentIDFileName = KeyFileStorage.deploymentIDFileName

    public let storage: any KeyringStorage
    /// 16 bytes, fixed for the life of the deployment.
    public let deploymentID: [UInt8]
    /// What `open` created because it was not stored yet (`deploymentIDLocation`, `keyringLocation`).
    public let created: [String]
    private let clock: any WallClock
    /// Rotations and removals that lose a compare-and-swap this many times in a row give up.
    static let maxWriteAttempts = 16

    private struct Cache: Sendable {
        var keyring: Keyring
        var version: KeyringVersion
        /// Clock second of the last look at the storage; at most one look per second.
        var lastCheck: Int64
        /// Monotonic milliseconds of the last look forced by an unknown key id (`keyringAfterRefresh`).
        var lastForced: Int64 = 0
    }
    /// Looks forced by unknown key ids are at least this far apart, so a flood of forged ids costs at most
    /// ten reads of the storage per second.
    static let forcedRefreshIntervalMs: Int64 = 100
    private let cache: Mutex<Cache>

    private init(
        storage: any KeyringStorage, deploymentID: [UInt8], stored: StoredKeyring, keyring: Keyring,
        created: [String], clock: any WallClock
    ) {
        self.storage = storage
        self.deploymentID = deploymentID
        self.created = created
        self.clock = clock
        self.cache = Mutex(Cache(keyring: keyring, version: stored.version, lastCheck: clock.now()))
    }

    /// The key files in `directory`, creating the directory, a deployment id and a first active key if missing.
    public static func openOrCreate(directory: String, clock: any WallClock) throws(GateError) -> TokenKeyStore {
        let files = KeyFileStorage(directory: directory)
        try files.preparePrivateDirectory()
        return try open(storage: files, clock: clock)
    }

    /// Opens `storage`, creating a deployment id and a first active key if none is stored (compare-and-swap:
    /// of several processes starting at once, all use the first one's).
    public static func open(storage: any KeyringStorage, clock: any WallClock) throws(GateError) -> TokenKeyStore {
        var created: [String] = []
        let fresh = Hex.encode(Crypto.randomBytes(16))
        let idText = try storage.deploymentID(orCreate: fresh)
        let deployment = try parseDeploymentID(idText, location: storage.deploymentIDLocation)
        if deployment == Hex.decode(fresh) { created.append(storage.deploymentIDLocation) }
        let stored: StoredKeyring
        if case .current(let s) = try storage.readKeyring(unlessVersion: nil) {
            stored = s
        } else {
            let write = try storage.replaceKeyring(
                with: try KeyringText.encode(Keyring.generate(now: clock.now())), expected: nil)
            stored = write.stored
            if write.written { created.append(storage.keyringLocation) }
        }
        let ring = try KeyringText.decode(stored.text, location: storage.keyringLocation)
        return TokenKeyStore(
            storage: storage, deploymentID: deployment, stored: stored, keyring: ring, created: created, clock: clock)
    }

    /// The key files, when the keyring is kept in files (the embedded default).
    public var files: KeyFileStorage? { storage as? KeyFileStorage }

    /// A codec for this deployment.
    public var codec: TokenCodec { TokenCodec(deploymentID: deploymentID) }

    /// The current keyring. Asks the storage whether it changed since the last look (at most once per clock
    /// second). If the new text cannot be read or parsed the last good keyring stays in force: a half-edited
    /// file or an unreachable catalog must not lock every client out.
    public func keyring() -> Keyring {
        let now = clock.now()
        let due = cache.withLock { c -> Bool in
            guard now >= c.lastCheck + 1 || now < c.lastCheck else { return false }
            c.lastCheck = now
            return true
        }
        if due { refreshIfChanged() }
        return cache.withLock { $0.keyring }
    }

    /// The keyring after asking the storage again now, unless another caller did so less than 100 ms ago. For
    /// a token whose key id is unknown: it may come from a key another process or node made a moment ago (a
    /// `key rotate` elsewhere, and a link minted with the new key at once), before the once-a-second look.
    public func keyringAfterRefresh() -> Keyring {
        let nowMs = Monotonic.milliseconds()
        let due = cache.withLock { c -> Bool in
            guard nowMs >= c.lastForced + Self.forcedRefreshIntervalMs || c.lastForced == 0 else { return false }
            c.lastForced = nowMs
            return true
        }
        if due { refreshIfChanged() }
        return cache.withLock { $0.keyring }
    }

    /// Rotates (Docs/protocols.md §3.5) and persists. Returns the new keyring.
    @discardableResult
    public func rotate(maxLifetime: Int64) throws(GateError) -> Keyring {
        try update { $0.rotated(now: clock.now(), maxLifetime: maxLifetime) }
    }

    /// Emergency retirement of a verify-only key (Docs/protocols.md §3.5); persists.
    @discardableResult
    public func retire(kid: UInt32) throws(GateError) -> Keyring {
        try update { ring throws(GateError) in try ring.retiring(kid: kid) }
    }

    /// Removes any key but the active one (`imagegate key remove`); persists.
    @discardableResult
    public func remove(kid: UInt32) throws(GateError) -> Keyring {
        try update { ring throws(GateError) in try ring.removing(kid: kid) }
    }

    /// Read, change, compare-and-swap; on a lost race the change is applied again to the winner's keyring,
    /// so another process's or node's rotation is never lost.
    private func update(_ change: (Keyring) throws(GateError) -> Keyring) throws(GateError) -> Keyring {
        for _ in 0..<Self.maxWriteAttempts {
            guard case .current(let stored) = try storage.readKeyring(unlessVersion: nil) else {
                throw GateError.io("\(storage.keyringLocation) disappeared")
            }
            let next = try change(try KeyringText.decode(stored.text, location: storage.keyringLocation))
            let write = try storage.replaceKeyring(with: try KeyringText.encode(next), expected: stored.version)
            guard write.written else { continue }
            let now = clock.now()
            cache.withLock { $0 = Cache(keyring: next, version: write.stored.version, lastCheck: now) }
            return next
        }
        throw GateError(.conflict, "\(storage.keyringLocation) kept changing while it was being updated; try again")
    }

    private func refreshIfChanged() {
        let seen = cache.withLock { $0.version }
        guard case .current(let stored)? = try? storage.readKeyring(unlessVersion: seen), stored.version != seen,
            let ring = try? KeyringText.decode(stored.text, location: storage.keyringLocation)
        else { return }
        cache.withLock { c in
            // Only install if nobody (e.g. an in-process rotate) installed something newer meanwhile.
            if c.version == seen { (c.keyring, c.version) = (ring, stored.version) }
        }
    }

    private static func parseDeploymentID(_ text: String, location: String) throws(GateError) -> [UInt8] {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == 10 || last == 13 || last == 32 { bytes.removeLast() }
        guard bytes.count == 32, let id = Hex.decode(String(decoding: bytes, as: UTF8.self)), id.count == 16 else {
            throw GateError.io("\(location) must hold 32 hex digits")
        }
        return id
    }
}
