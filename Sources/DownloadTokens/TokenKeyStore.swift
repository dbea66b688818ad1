//===----------------------------------------------------------------------===//
// ImageGate: the keyring and deployment id on disk, shared between the server and the CLI.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Foundation
import GateCore
import Synchronization

/// Key material in one private directory (mode 0700):
/// - `token-keys.json` (0600): the keyring, replaced atomically on every change;
/// - `deployment-id` (0600): 16 random bytes as 32 hex digits, created once and never changed
///   (changing it invalidates every token, Docs/protocols.md §3.2).
///
/// Both are created on first use under an exclusive `flock` on the directory, so concurrent first starts
/// agree on one deployment id. A running server notices `imagegate key rotate` done by another process:
/// `keyring()` re-stats the key file at most once per second and reloads it when it changed.
public final class TokenKeyStore: Sendable {
    public static let keyFileName = "token-keys.json"
    public static let deploymentIDFileName = "deployment-id"

    public let directory: String
    public let keyFilePath: String
    public let deploymentIDPath: String
    /// 16 bytes, fixed for the life of the deployment.
    public let deploymentID: [UInt8]
    private let clock: any WallClock

    private struct Cache: Sendable {
        var keyring: Keyring
        var stamp: FileStamp?
        /// Clock second of the last stat; at most one stat per second.
        var lastCheck: Int64
    }
    private let cache: Mutex<Cache>

    private init(directory: String, deploymentID: [UInt8], keyring: Keyring, stamp: FileStamp?, clock: any WallClock) {
        self.directory = directory
        self.keyFilePath = directory + "/" + Self.keyFileName
        self.deploymentIDPath = directory + "/" + Self.deploymentIDFileName
        self.deploymentID = deploymentID
        self.clock = clock
        self.cache = Mutex(Cache(keyring: keyring, stamp: stamp, lastCheck: clock.now()))
    }

    /// Opens the store, creating the directory, a deployment id and a first active key if missing.
    public static func openOrCreate(directory: String, clock: any WallClock) throws(GateError) -> TokenKeyStore {
        try KeyFiles.ensurePrivateDirectory(directory)
        return try KeyFiles.withLock(directory: directory) { () throws(GateError) -> TokenKeyStore in
            let deployment = try loadOrCreateDeploymentID(directory)
            let keyPath = directory + "/" + keyFileName
            let ring: Keyring
            let stamp: FileStamp?
            if let loaded = try load(keyPath) {
                (ring, stamp) = loaded
            } else {
                ring = Keyring.generate(now: clock.now())
                try write(ring, directory: directory)
                stamp = KeyFiles.stamp(keyPath)
            }
            return TokenKeyStore(directory: directory, deploymentID: deployment, keyring: ring, stamp: stamp, clock: clock)
        }
    }

    /// A codec for this deployment.
    public var codec: TokenCodec { TokenCodec(deploymentID: deploymentID) }

    /// The current keyring. Re-reads the key file if its identity, size or mtime changed since the last
    /// look (looked at no more than once per clock second). If the new file cannot be read or parsed the
    /// last good keyring stays in force: a half-edited file must not lock every client out.
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

    /// Rotates (Docs/protocols.md §3.5) and persists: reads the file under the directory lock (so another process's
    /// rotation is not lost), rotates, writes atomically. Returns the new keyring.
    @discardableResult
    public func rotate(maxLifetime: Int64) throws(GateError) -> Keyring {
        try update { $0.rotated(now: clock.now(), maxLifetime: maxLifetime) }
    }

    /// Emergency retirement of a verify-only key (Docs/protocols.md §3.5); persists.
    @discardableResult
    public func retire(kid: UInt32) throws(GateError) -> Keyring {
        try update { ring throws(GateError) in try ring.retiring(kid: kid) }
    }

    private func update(_ change: (Keyring) throws(GateError) -> Keyring) throws(GateError) -> Keyring {
        try KeyFiles.withLock(directory: directory) { () throws(GateError) -> Keyring in
            guard let (current, _) = try Self.load(keyFilePath) else {
                throw GateError.io("key file \(keyFilePath) disappeared")
            }
            let next = try change(current)
            try Self.write(next, directory: directory)
            let stamp = KeyFiles.stamp(keyFilePath)
            let now = clock.now()
            cache.withLock { $0 = Cache(keyring: next, stamp: stamp, lastCheck: now) }
            return next
        }
    }

    private func refreshIfChanged() {
        let seen = cache.withLock { $0.stamp }
        guard let stamp = KeyFiles.stamp(keyFilePath), stamp != seen else { return }
        guard let loaded = try? Self.load(keyFilePath) else { return }
        cache.withLock { c in
            // Only install if nobody (e.g. an in-process rotate) installed something newer meanwhile.
            if c.stamp == seen { (c.keyring, c.stamp) = loaded }
        }
    }

    // MARK: File formats

    /// The JSON document of `token-keys.json`.
    private struct KeyFile: Codable {
        var format: String
        var keys: [SigningKey]
        static let formatName = "imagegate-token-keys-v1"
    }

    private static func load(_ path: String) throws(GateError) -> (Keyring, FileStamp)? {
        guard let (bytes, stamp) = try KeyFiles.read(path) else { return nil }
        let file: KeyFile
        do {
            file = try JSONDecoder().decode(KeyFile.self, from: Data(bytes))
        } catch {
            // Never echo the decoder's message: it may quote file content, and the content is secret.
            throw GateError.io("key file \(path) is not a valid key file")
        }
        guard file.format == KeyFile.formatName else { throw GateError.io("key file \(path) has unknown format") }
        return (try Keyring(keys: file.keys), stamp)
    }

    private static func write(_ ring: Keyring, directory: String) throws(GateError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(KeyFile(format: KeyFile.formatName, keys: ring.keys))
        } catch {
            throw GateError.internal("cannot encode key file")
        }
        try KeyFiles.writeAtomically(directory: directory, name: keyFileName, bytes: Array(data) + [10])
    }

    private static func loadOrCreateDeploymentID(_ directory: String) throws(GateError) -> [UInt8] {
        let path = directory + "/" + deploymentIDFileName
        if let (bytes, _) = try KeyFiles.read(path) {
            var text = bytes
            while let last = text.last, last == 10 || last == 13 || last == 32 { text.removeLast() }
            guard text.count == 32, let id = Hex.decode(String(decoding: text, as: UTF8.self)), id.count == 16 else {
                throw GateError.io("\(path) must hold 32 hex digits")
            }
            return id
        }
        let id = Crypto.randomBytes(16)
        try KeyFiles.writeAtomically(directory: directory, name: deploymentIDFileName, bytes: Array((Hex.encode(id) + "\n").utf8))
        return id
    }
}
