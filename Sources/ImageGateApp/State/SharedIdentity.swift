//===----------------------------------------------------------------------===//
// ImageGate: the key material every node of a shared catalog holds alike: token keys and deployment id,
// the secrets key, the SSH host keys. Kept as the catalog's shared documents, created once by compare-and-swap.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import DownloadTokens
import Foundation
import GateCore
import ImageCatalog
import SFTPServer
import SystemIO

/// With `catalog.url` naming a shared catalog (CatalogLocation.isEmbedded false), `DataDirectory.open` takes
/// its identity from here instead of `<data_dir>/keys` (Docs/tokens.md "Keyring storage", Docs/sftp.md
/// "Host keys", Docs/url-import.md). Each piece is created by the first node that needs it (the store's
/// compare-and-swap with no expected version: a node that loses uses the winner's).
enum SharedIdentity {
    static let secretsKeyDocument = "secrets-key"
    static func hostKeyDocument(_ kind: String) -> String { "ssh-host-key-" + kind }

    // MARK: Token keys

    /// The token key store on the catalog. A data directory that brings its own key files (a node that ran
    /// on the embedded catalog before) has them imported when the catalog has no keyring yet, so its links
    /// keep working; when the catalog already has a keyring of another deployment they are refused by name,
    /// never merged or silently dropped. A catalog with images or links but no keyring is refused like a
    /// missing key file (StartupGuards.requireKeyFiles) unless `allowRecreate` (`key rotate --recreate-missing`).
    static func tokenKeys(_ settings: Settings, store: any CatalogStore, clock: any WallClock, allowRecreate: Bool)
        throws(GateError) -> TokenKeyStore
    {
        let shared = CatalogKeyringStorage(store: store)
        let local = KeyFileStorage(directory: settings.keysDir)
        let hasKeyring = try store.document(CatalogKeyringStorage.keyringDocument) != nil
        let localID = try localDeploymentID(local)
        let localRing = readTextFile(local.keyFilePath)
        if hasKeyring {
            if let localID { try requireSameDeployment(localID, shared: shared, settings: settings) }
        } else if localID != nil || localRing != nil {
            try importKeys(
                localID: localID, localRing: localRing, local: local, into: shared, settings: settings,
                now: clock.now())
        } else if !allowRecreate {
            let (images, links) = try store.imageAndLinkCounts()
            if images > 0 || links > 0 {
                throw GateError.io(
                    "the shared catalog \(catalogText(settings)) holds \(images) image(s) and \(links) minted link(s) "
                        + "but no token keyring. Refusing to make new key material, which would silently invalidate "
                        + "every outstanding link. Start one node (or run one command) from the data directory whose "
                        + "keys/token-keys.json and keys/deployment-id signed those links: they are imported. If "
                        + "there is none and every outstanding link may stop working, run: "
                        + "imagegate key rotate --recreate-missing (see Docs/tokens.md)")
            }
        }
        return try TokenKeyStore.open(storage: shared, clock: clock)
    }

    /// The data directory's own deployment id, nil when it has none; a damaged one is refused by name.
    private static func localDeploymentID(_ local: KeyFileStorage) throws(GateError) -> String? {
        guard let text = readTextFile(local.deploymentIDPath) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard id.utf8.count == 32, Hex.decode(id) != nil else {
            throw GateError.io("\(absolutePath(local.deploymentIDPath)) must hold 32 hex digits")
        }
        return id
    }

    private static func requireSameDeployment(_ localID: String, shared: CatalogKeyringStorage, settings: Settings)
        throws(GateError)
    {
        let sharedID = try shared.deploymentID(orCreate: localID).trimmingCharacters(in: .whitespacesAndNewlines)
            .lowercased()
        guard sharedID != localID else { return }
        throw GateError.io(
            "\(absolutePath(settings.keysDir)) holds the token keys of another deployment than the shared catalog "
                + "\(catalogText(settings)) (keys/deployment-id differs): links minted with them would not verify "
                + "on any node. Refusing to go on. If those links may stop working, move keys/token-keys.json and "
                + "keys/deployment-id out of \(absolutePath(settings.keysDir)); this node then uses the catalog's "
                + "keys (see Docs/tokens.md).")
    }

    /// Copies the data directory's key files into a catalog that has no keyring (once: afterwards the catalog
    /// has one). The files themselves are left as they are; with a shared catalog they are no longer read.
    private static func importKeys(
        localID: String?, localRing: String?, local: KeyFileStorage, into shared: CatalogKeyringStorage,
        settings: Settings, now: Int64
    ) throws(GateError) {
        guard let localID, let localRing else {
            let (missing, present) =
                localID == nil
                ? (local.deploymentIDPath, local.keyFilePath) : (local.keyFilePath, local.deploymentIDPath)
            throw GateError.io(
                "\(absolutePath(missing)) is missing next to \(absolutePath(present)); the two only work as a pair, "
                    + "so they cannot be imported into the shared catalog \(catalogText(settings)). Restore it from "
                    + "a backup (see \(StartupGuards.recoveryDoc)), or move \(absolutePath(present)) away to start "
                    + "with the catalog's keys.")
        }
        let ring = try KeyringText.decode(localRing, location: local.keyringLocation)
        try requireSameDeployment(localID, shared: shared, settings: settings)
        let write = try shared.replaceKeyring(with: localRing, expected: nil)
        guard !write.written else { return }
        // Another node made a keyring at the same moment: fine if it holds every key these links need.
        let winner = try KeyringText.decode(write.stored.text, location: shared.keyringLocation)
        let missing = ring.keys.filter { k in
            k.usable(at: now) && !winner.keys.contains { $0.kid == k.kid && $0.secret == k.secret }
        }
        guard !missing.isEmpty else { return }
        throw GateError.io(
            "another node created the token keyring of the shared catalog \(catalogText(settings)) while this one "
                + "was importing \(absolutePath(local.keyFilePath)); links signed by its keys would stop working. "
                + "Stop the other nodes, and start the one that holds the keys first (see Docs/tokens.md).")
    }

    // MARK: Secrets key

    /// The key that seals URL import sources in the catalog, the same on every node so any node can resume
    /// another's import. First use: the data directory's own `keys/secrets.key` if it has one (imports it
    /// sealed stay readable), else a new random key.
    static func secretBox(_ settings: Settings, store: any CatalogStore) throws(GateError) -> SecretBox {
        let location = "the shared catalog's secrets key (document '\(secretsKeyDocument)')"
        var doc = try store.document(secretsKeyDocument)
        if doc == nil {
            let localPath = settings.keysDir + "/secrets.key"
            var text = Hex.encode(Crypto.randomBytes(32))
            if FileIO.exists(localPath) {
                _ = try DataDirectory.secretBox(localPath)  // a damaged file is refused by name, never shared
                text = (readTextFile(localPath) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            }
            doc = try store.putDocument(secretsKeyDocument, body: text, expectedVersion: nil).document
        }
        guard let body = doc?.body, let key = Hex.decode(body.trimmingCharacters(in: .whitespacesAndNewlines)),
            let box = SecretBox(key: key)
        else {
            throw GateError.io(
                "\(location) is damaged: it must hold one key of 64 hex digits (see \(StartupGuards.recoveryDoc))")
        }
        return box
    }

    // MARK: SSH host keys

    /// Makes `<data_dir>/ssh` hold the cluster's host keys, one per kind the SFTP front offers, so a client
    /// behind a balancer sees the same host key from every node. First use: this node's own key file when it
    /// has a valid one (its clients' known_hosts stay right), else a new key. A local key that differs from
    /// the catalog's is kept as `<file>.replaced-<unix time>`, never deleted.
    static func syncHostKeys(_ settings: Settings, store: any CatalogStore) throws(GateError) {
        let dir = settings.sshHostKeyDir
        try DataDirectory.makeDirectories(dir)
        for (kind, file) in SSHHostKeys.kinds {
            let path = dir + "/" + file
            let local = readTextFile(path)
            let text: String
            if let doc = try store.document(hostKeyDocument(kind)) {
                text = doc.body
            } else {
                let body: String
                if let local, SSHHostKeys.isValidPrivateKeyText(local) {
                    body = local
                } else {
                    body = try SSHHostKeys.generatePrivateKeyText(kind: kind)
                }
                text = try store.putDocument(hostKeyDocument(kind), body: body, expectedVersion: nil).document.body
            }
            guard local != text else { continue }
            if local != nil {
                // Read again: another process on this data directory (a CLI command) may have synced it already.
                guard readTextFile(path) != text else { continue }
                let aside = path + ".replaced-\(time(nil))"
                do {
                    try FileIO.rename(path, to: aside)
                } catch {
                    throw GateError.io("cannot move \(absolutePath(path)) aside: \(error.reason)")
                }
            }
            try SSHHostKeys.writePrivateKeyText(text, to: path)
        }
    }

    private static func catalogText(_ settings: Settings) -> String {
        (try? CatalogLocation(settings))?.description ?? "(catalog.url)"  // never the raw URL: it may hold a password
    }
}
