//===----------------------------------------------------------------------===//
// ImageGate: the data directory: catalog, blob store and token keys, opened the same way by the
// server and by every CLI command (so the CLI works with or without a running server).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import DownloadTokens
import Foundation
import GateCore
import ImageCatalog
import ImportPipeline
import SQLiteCatalog
import SystemIO
import ImageManagement
import PostgresCatalog

final class DataDirectory: Sendable {
    let settings: Settings
    let store: any CatalogStore
    let blobs: any BlobStorage
    let keys: TokenKeyStore
    let clock: any WallClock
    let service: ImageService
    let imports: ImportManager

    private init(
        settings: Settings, store: any CatalogStore, blobs: any BlobStorage, keys: TokenKeyStore,
        clock: any WallClock, secrets: SecretBox
    ) {
        self.settings = settings
        self.store = store
        self.blobs = blobs
        self.keys = keys
        self.clock = clock
        self.service = ImageService(store: store, blobs: blobs, clock: clock, retention: settings.recycleRetention)
        self.imports = ImportManager(
            service: service, store: store, blobs: blobs, settings: settings.imports,
            // Filtered like serve's own log: an import URL may be another ImageGate link with a token in it.
            logger: Logger(sink: LineSink(fd: 2, filter: TokenRedaction.redactTokens(in:)), minimum: settings.logLevel),
            secrets: secrets)
    }

    /// The key that seals secrets kept in the catalog (source URLs with credentials): 32 random bytes,
    /// created once, mode 0600, next to the token keys. A file that exists but does not hold such a key is
    /// an error that says so; it is never replaced (imports in progress may need the key it held).
    static func secretBox(_ path: String) throws(GateError) -> SecretBox {
        if let box = try readSecretBox(path) { return box }
        let key = Crypto.randomBytes(32)
        do {
            try writePrivateFile(path, Hex.encode(key) + "\n")
        } catch {
            // Another process created it first: use theirs.
            if let box = try readSecretBox(path) { return box }
            throw error
        }
        return SecretBox(key: key)!
    }

    /// The key in `path`, nil if there is no such file; a file that is not 64 hex digits is refused by name.
    private static func readSecretBox(_ path: String) throws(GateError) -> SecretBox? {
        do {
            _ = try FileIO.linkStatus(path)
        } catch  where error.errno == ENOENT {
            return nil
        } catch {}
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw GateError.io("cannot read \(absolutePath(path))")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let key = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), let box = SecretBox(key: key)
        else {
            throw GateError.io(
                "\(absolutePath(path)) is damaged: it must hold one key of 64 hex digits. It seals the source URLs "
                    + "of URL imports in progress: restore it from a backup, or, if no URL import is in progress, "
                    + "delete it and a new key is made (see \(StartupGuards.recoveryDoc)).")
        }
        return box
    }

    var adminKeyPath: String { settings.keysDir + "/admin-api-key" }

    /// Whether the catalog is shared with other nodes (`catalog.url` names one other than the data
    /// directory's own file): then server nodes do the work of the cluster, not a CLI process.
    var isClustered: Bool {
        guard let location = try? CatalogLocation(settings) else { return false }
        return !location.isEmbedded(settings)
    }

    /// Opens (creating on first use, mode 0700) the data directory. Refuses, naming the file, when the
    /// catalog is missing or empty in a directory already in use, when the catalog fails SQLite's
    /// quick_check, or when key files are missing while the catalog holds images or links (StartupGuards).
    /// `recreateMissingKeys` is `key rotate --recreate-missing`.
    static func open(_ settings: Settings, clock: any WallClock = SystemClock(), recreateMissingKeys: Bool = false)
        throws(GateError) -> DataDirectory
    {
        // Leases this process takes name its node (`node.id`): set before the first one.
        LeaseHolder.useNode(settings.effectiveNodeID)
        try makeDirectories(settings.dataDir)
        let store = try openCatalog(settings, clock: clock)
        let keys: TokenKeyStore
        let secrets: SecretBox
        if try CatalogLocation(settings).isEmbedded(settings) {
            try StartupGuards.requireKeyFiles(settings, store: store, allowRecreate: recreateMissingKeys)
            keys = try TokenKeyStore.openOrCreate(directory: settings.keysDir, clock: clock)
            secrets = try secretBox(settings.keysDir + "/secrets.key")
        } else {
            // A shared catalog: every node signs, verifies, seals and presents host keys alike (SharedIdentity).
            try makeDirectories(settings.keysDir)
            keys = try SharedIdentity.tokenKeys(
                settings, store: store, clock: clock, allowRecreate: recreateMissingKeys)
            secrets = try SharedIdentity.secretBox(settings, store: store)
            try SharedIdentity.syncHostKeys(settings, store: store)
        }
        try makeDirectories(settings.dataDir + "/run")
        let blobs = try BlobBackend.open(
            settings, store: store,
            logger: Logger(sink: LineSink(fd: 2, filter: TokenRedaction.redactTokens(in:)), minimum: settings.logLevel))
        let data = DataDirectory(
            settings: settings, store: store, blobs: blobs, keys: keys,
            clock: clock, secrets: secrets)
        // First use: the default tenant and a platform-admin account; its API key is written once, 0600,
        // for remote use of the API (the local CLI needs none: it acts on the data directory directly).
        // On a shared catalog several nodes and CLIs may come first at the same moment: the first use runs
        // once, under the catalog's initialization lock, and only the process that created the administrator
        // gets its secret (and writes it).
        let (_, secret) = try initializeOnce(store) { () throws(GateError) in try data.service.bootstrap() }
        if let secret { try writePrivateFile(data.adminKeyPath, secret + "\n") }
        return data
    }

    /// Opens the catalog `catalog.url` names (CatalogLocation), with the guards that apply to it.
    private static func openCatalog(_ settings: Settings, clock: any WallClock) throws(GateError) -> any CatalogStore {
        switch try CatalogLocation(settings) {
        case .sqlite(let path):
            return try SQLiteCatalogStore.withOpeningLock(path: path) { () throws(GateError) -> any CatalogStore in
                try StartupGuards.requireCatalog(settings)
                let store = try SQLiteCatalogStore.open(path: path, clock: clock)
                try StartupGuards.requireSoundCatalog(settings, store: store)
                return store
            }
        case .postgres(let url):
            // No file guards here (requireCatalog, quick_check are about a SQLite file); opening migrates the
            // schema under the migrations advisory lock.
            return try PostgresCatalogStore.open(url: url, poolSize: settings.catalogGuards.poolSize, clock: clock)
        }
    }

    /// Runs first-use initialization so that of several processes on one catalog only one does it: under
    /// the PostgreSQL store's initialization lock; a SQLite file is initialized by whoever gets there.
    private static func initializeOnce<T>(_ store: any CatalogStore, _ body: () throws(GateError) -> T)
        throws(GateError) -> T
    {
        if let shared = store as? PostgresCatalogStore { return try shared.withInitializationLock(body) }
        return try body()
    }

    /// Creates `path` with mode 0600 and the given text (never overwrites). The text is written and synced
    /// under a temporary name first and then linked into place (`AtomicFile`, `.createNew`: link(2) fails with
    /// EEXIST instead of replacing an existing file, unlike rename(2)), so another process never reads the file
    /// half-written (and so never mistakes a key being created for a damaged one).
    static func writePrivateFile(_ path: String, _ text: String) throws(GateError) {
        do {
            try AtomicFile.write(Array(text.utf8), to: path, mode: 0o600, placement: .createNew)
        } catch {
            switch error.step {
            case .create, .place: throw GateError.io("cannot create \(error.path): \(error.reason)")
            case .write, .sync: throw GateError.io("cannot write \(error.path)")
            case .syncDirectory: throw GateError.io("cannot create \(path): \(error)")
            }
        }
    }

    /// `mkdir -p` with mode 0700 for the directories ImageGate creates.
    static func makeDirectories(_ path: String) throws(GateError) {
        do {
            try FileIO.makeDirectories(path, mode: 0o700)
        } catch {
            throw GateError.io("cannot create directory \(error.path ?? path): \(error.reason)")
        }
    }

    func close() {
        imports.stopHeartbeat()  // the lease heartbeat stops before the catalog closes under it
        store.close()
    }
}
