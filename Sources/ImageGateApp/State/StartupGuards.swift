//===----------------------------------------------------------------------===//
// ImageGate: refusals before a command touches a data directory whose catalog or key files are gone or
// damaged. Creating fresh ones there would silently orphan every image or kill every link (issue 10).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import DownloadTokens
import Foundation
import GateCore
import ImageCatalog
import SQLiteCatalog
import SystemIO

/// Every check names the file, says what would be lost, and points at Docs/recovery.md. They run in
/// `DataDirectory.open`, so `serve` and every local CLI command refuse alike.
enum StartupGuards {
    static let recoveryDoc = "Docs/recovery.md"

    /// Before the catalog is opened (which creates it): a missing or empty catalog is only fine in a data
    /// directory that holds nothing else yet. Otherwise the catalog was lost, and a new empty one would make
    /// every blob look orphaned and every key look unused.
    static func requireCatalog(_ settings: Settings) throws(GateError) {
        let path = settings.catalogPath
        let state: String
        do {
            let st = try FileIO.linkStatus(path)
            guard st.isRegularFile && st.size == 0 else { return }
            state = "is empty (0 bytes)"
        } catch {
            guard error.errno == ENOENT else { return }  // opening it reports the real problem
            state = "is missing"
        }
        let found = existingState(settings)
        guard !found.isEmpty else { return }  // a new data directory: the catalog is made now
        throw GateError.io(
            "catalog \(absolutePath(path)) \(state), but this data directory already holds "
                + found.joined(separator: ", ")
                + ". Refusing to start with a new, empty catalog: every image would look unknown and every link dead. "
                + "Restore catalog.sqlite3 from a backup (or check --data-dir / data_dir); see \(recoveryDoc).")
    }

    /// What proves this data directory was in use: blobs, imports, quarantined blobs, key files, a WAL file.
    static func existingState(_ settings: Settings) -> [String] {
        let blobs = BlobStore(root: settings.blobRoot)
        var found: [String] = []
        for (dir, what) in [
            (blobs.blobDirectory, "blob"), (blobs.stagingDirectory, "staging file"),
            (blobs.quarantineDirectory, "quarantined blob"),
        ] {
            let n = entryCount(dir)
            if n > 0 { found.append("\(n) \(what)\(n == 1 ? "" : "s") in \(absolutePath(dir))") }
        }
        for name in [
            TokenKeyStore.keyFileName, TokenKeyStore.deploymentIDFileName, "secrets.key", "admin-api-key",
        ] where exists(settings.keysDir + "/" + name) {
            found.append(absolutePath(settings.keysDir + "/" + name))
        }
        if let st = try? FileIO.linkStatus(settings.catalogPath + "-wal"), st.size > 0 {
            found.append(absolutePath(settings.catalogPath + "-wal"))
        }
        return found
    }

    /// After the catalog is open and before the key store creates what is missing: the signing keys and
    /// the deployment id are part of every outstanding link, so they may only be created for a catalog
    /// that has neither images nor links. `allowRecreate` is `key rotate --recreate-missing`: the operator
    /// accepts that every outstanding link stops working.
    static func requireKeyFiles(_ settings: Settings, store: any CatalogStore, allowRecreate: Bool)
        throws(GateError)
    {
        let missing = [TokenKeyStore.keyFileName, TokenKeyStore.deploymentIDFileName]
            .map { settings.keysDir + "/" + $0 }.filter { !exists($0) }
        guard !missing.isEmpty, !allowRecreate else { return }
        let (images, links) = try store.imageAndLinkCounts()
        guard images > 0 || links > 0 else { return }
        let names = missing.map(absolutePath).joined(separator: " and ")
        throw GateError.io(
            "\(names) \(missing.count == 1 ? "is" : "are") missing, but the catalog holds \(images) image(s) and "
                + "\(links) minted link(s). Refusing to make new key material, which would silently invalidate every "
                + "outstanding link. Restore \(missing.count == 1 ? "it" : "them") from a backup (see \(recoveryDoc)); "
                + "if there is none and every outstanding link may stop working, run: "
                + "imagegate key rotate --recreate-missing")
    }

    /// SQLite's quick_check (unless `catalog.quick_check = false`): a damaged index answers queries wrongly
    /// without any error, so a damaged catalog is refused before anything reads or writes it.
    static func requireSoundCatalog(_ settings: Settings, store: SQLiteCatalogStore) throws(GateError) {
        guard settings.catalogGuards.quickCheck else { return }
        let problems = try store.quickCheck()
        guard !problems.isEmpty else { return }
        throw GateError.io(
            "catalog \(absolutePath(settings.catalogPath)) is damaged; SQLite's quick_check reports: "
                + problems.joined(separator: "; ")
                + ". Restore it from a backup or repair it (see \(recoveryDoc)); to start anyway, set "
                + "catalog.quick_check = false.")
    }

    private static func exists(_ path: String) -> Bool {
        (try? FileIO.linkStatus(path)) != nil
    }

    private static func entryCount(_ dir: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).count
    }
}
