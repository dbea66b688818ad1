//===----------------------------------------------------------------------===//
// ImageGate: opening a data directory whose catalog or key files were lost or garbled.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog
@testable import ImageGateApp
import Testing

@Suite struct StartupGuardsTests {
    /// A fresh data directory under /tmp, removed afterwards.
    final class Dir {
        let settings: Settings
        init() {
            var s = Settings()
            s.dataDir = NSTemporaryDirectory() + "imagegate-guards-" + UUID().uuidString
            settings = s
        }
        deinit { try? FileManager.default.removeItem(atPath: settings.dataDir) }

        /// Opens the directory once (first use), adds one image row and its blob, closes it.
        func inUse() throws -> ImageID {
            let data = try DataDirectory.open(settings)
            defer { data.close() }
            let record = ImageRecord(
                id: ImageRecord.newID(), tenant: .defaultTenant, name: "kept", fileName: "kept.img", format: .raw,
                size: 3, status: .available, createdAt: 1, updatedAt: 1)
            try data.store.insert(record, lease: nil)
            let blobs = BlobStore(root: settings.blobRoot)
            try FileManager.default.createDirectory(atPath: blobs.blobDirectory, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: blobs.path(for: record.id), contents: Data([1, 2, 3])))
            return record.id
        }

        func refusal() -> String? {
            do {
                try DataDirectory.open(settings).close()
                return nil
            } catch {
                return error.message
            }
        }
    }

    @Test func aNewDataDirectoryIsCreated() throws {
        let dir = Dir()
        try DataDirectory.open(dir.settings).close()
        #expect(FileManager.default.fileExists(atPath: dir.settings.catalogPath))
    }

    @Test func missingCatalogNextToBlobsIsRefusedAndNotRecreated() throws {
        let dir = Dir()
        _ = try dir.inUse()
        try FileManager.default.removeItem(atPath: dir.settings.catalogPath)
        let message = try #require(dir.refusal())
        #expect(message.contains("catalog.sqlite3 is missing") && message.contains("1 blob in"))
        #expect(message.contains("token-keys.json") && message.contains("Docs/recovery.md"))
        #expect(!FileManager.default.fileExists(atPath: dir.settings.catalogPath))
    }

    @Test func emptyCatalogIsRefused() throws {
        let dir = Dir()
        _ = try dir.inUse()
        #expect(FileManager.default.createFile(atPath: dir.settings.catalogPath, contents: Data()))
        let message = try #require(dir.refusal())
        #expect(message.contains("catalog.sqlite3 is empty (0 bytes)"))
    }

    @Test(
        "a missing key file is refused while the catalog holds an image; --recreate-missing makes it",
        arguments: ["token-keys.json", "deployment-id"])
    func missingKeyFile(name: String) throws {
        let dir = Dir()
        _ = try dir.inUse()
        let path = dir.settings.keysDir + "/" + name
        try FileManager.default.removeItem(atPath: path)
        let message = try #require(dir.refusal())
        #expect(message.contains("\(name) is missing, but the catalog holds 1 image(s)"))
        #expect(!FileManager.default.fileExists(atPath: path))
        try DataDirectory.open(dir.settings, recreateMissingKeys: true).close()
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(dir.refusal() == nil)
    }

    @Test func missingKeyFileOfAnUnusedCatalogIsJustMade() throws {
        let dir = Dir()
        try DataDirectory.open(dir.settings).close()
        try FileManager.default.removeItem(atPath: dir.settings.keysDir + "/token-keys.json")
        #expect(dir.refusal() == nil)
    }

    @Test func garbageSecretsKeyIsNamedAndKept() throws {
        let dir = Dir()
        try DataDirectory.open(dir.settings).close()
        let path = dir.settings.keysDir + "/secrets.key"
        try FileManager.default.removeItem(atPath: path)
        #expect(FileManager.default.createFile(atPath: path, contents: Data("zz not hex\n".utf8)))
        let message = try #require(dir.refusal())
        #expect(message.contains("secrets.key is damaged") && !message.contains("File exists"))
        #expect(FileManager.default.contents(atPath: path) == Data("zz not hex\n".utf8))
    }

    @Test func linkMintWithoutAServerWarnsWhereAddressesComeFrom() {
        let dir = Dir()
        let warning = LinkMintCommand.configuredAddressWarning(dir.settings)
        #expect(warning?.contains("no server is running") == true)
        #expect(warning?.contains("https 127.0.0.1:8443") == true && warning?.contains("sftp 127.0.0.1:2222") == true)
    }
}
