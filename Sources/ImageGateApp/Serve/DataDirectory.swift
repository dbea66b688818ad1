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

final class DataDirectory: Sendable {
    let settings: Settings
    let store: SQLiteCatalogStore
    let blobs: BlobStore
    let keys: TokenKeyStore
    let clock: any WallClock

    private init(settings: Settings, store: SQLiteCatalogStore, blobs: BlobStore, keys: TokenKeyStore,
                 clock: any WallClock) {
        self.settings = settings
        self.store = store
        self.blobs = blobs
        self.keys = keys
        self.clock = clock
    }

    /// Opens (creating on first use, mode 0700) the data directory.
    static func open(_ settings: Settings, clock: any WallClock = SystemClock()) throws(GateError) -> DataDirectory {
        try makeDirectories(settings.dataDir)
        let store = try SQLiteCatalogStore.open(path: settings.catalogPath, clock: clock)
        let keys = try TokenKeyStore.openOrCreate(directory: settings.keysDir, clock: clock)
        return DataDirectory(settings: settings, store: store, blobs: BlobStore(root: settings.dataDir), keys: keys,
                             clock: clock)
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
