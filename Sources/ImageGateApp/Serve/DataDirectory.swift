//===----------------------------------------------------------------------===//
// ImageGate: the data directory: catalog, blob store and token keys, opened the same way by the
// server and by every CLI command (so the CLI works with or without a running server).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import DownloadTokens
import GateCore
import ImageCatalog
import ImageManagement

final class DataDirectory: Sendable {
    let settings: Settings
    let store: SQLiteCatalogStore
    let blobs: BlobStore
    let keys: TokenKeyStore
    let clock: any WallClock
    let service: ImageService

    private init(settings: Settings, store: SQLiteCatalogStore, blobs: BlobStore, keys: TokenKeyStore,
                 clock: any WallClock) {
        self.settings = settings
        self.store = store
        self.blobs = blobs
        self.keys = keys
        self.clock = clock
        self.service = ImageService(store: store, blobs: blobs, clock: clock, retention: settings.recycleRetention)
    }

    /// The management API as the local CLI uses it (same code as the server's /api/v1).
    var localAPI: LocalAPI {
        LocalAPI(
            api: ManagementAPI(
                service: service, minter: LinkMinter(data: self),
                exporter: ImageExporter(scratchDirectory: settings.dataDir + "/run")))
    }

    var adminKeyPath: String { settings.keysDir + "/admin-api-key" }

    /// Opens (creating on first use, mode 0700) the data directory.
    static func open(_ settings: Settings, clock: any WallClock = SystemClock()) throws(GateError) -> DataDirectory {
        try makeDirectories(settings.dataDir)
        let store = try SQLiteCatalogStore.open(path: settings.catalogPath, clock: clock)
        let keys = try TokenKeyStore.openOrCreate(directory: settings.keysDir, clock: clock)
        try makeDirectories(settings.dataDir + "/run")
        let data = DataDirectory(settings: settings, store: store, blobs: BlobStore(root: settings.dataDir), keys: keys,
                                 clock: clock)
        // First use: the default tenant and a platform-admin account; its API key is written once, 0600,
        // for remote use of the API (the local CLI needs none: it acts on the data directory directly).
        let (_, secret) = try data.service.bootstrap()
        if let secret { try writePrivateFile(data.adminKeyPath, secret + "\n") }
        return data
    }

    /// Creates `path` with mode 0600 and the given text (never overwrites).
    static func writePrivateFile(_ path: String, _ text: String) throws(GateError) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw GateError.io("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var bytes = Array(text.utf8)
        guard bytes.withUnsafeMutableBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0
        else { throw GateError.io("cannot write \(path)") }
    }

    /// `mkdir -p` with mode 0700 for the directories ImageGate creates.
    static func makeDirectories(_ path: String) throws(GateError) {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") where !part.isEmpty {
            built += "/" + part
            if mkdir(built, 0o700) != 0 && errno != EEXIST {
                throw GateError.io("cannot create directory \(built): \(String(cString: strerror(errno)))")
            }
        }
    }

    func close() { store.close() }
}

/// Absolute form of a path, for start-up messages.
func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var buf = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buf, buf.count) != nil else { return path }
    let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let rel = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
    return rel == "." ? cwd : cwd + "/" + rel
}
