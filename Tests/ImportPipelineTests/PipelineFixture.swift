//===----------------------------------------------------------------------===//
// ImageGate: the import pipeline as `imagegate image import --file` runs it (ImportManager on a SQLite catalog
// and a local blob store in a scratch directory), and helpers for its tests.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import Foundation
import GateCore
import ImageCatalog
import ImageManagement
@testable import ImportPipeline
import SQLiteCatalog
import TestSupport

/// A catalog, a blob store and the import manager over them, opened as DataDirectory opens them.
final class PipelineFixture {
    let dir: TemporaryDirectory
    let clock: ManualClock
    let store: SQLiteCatalogStore
    let blobs: BlobStore
    let service: ImageService
    let imports: ImportManager

    init(blobRoot: String? = nil, now: Int64 = 1_700_000_000) throws {
        dir = try TemporaryDirectory(prefix: "pipeline")
        clock = ManualClock(now)
        store = try SQLiteCatalogStore.open(path: dir.path + "/catalog/catalog.db", clock: clock)
        blobs = BlobStore(root: blobRoot ?? dir.path + "/store")
        service = ImageService(store: store, blobs: blobs, clock: clock, retention: 86_400)
        _ = try service.bootstrap()  // the default tenant, as DataDirectory.open makes it
        imports = ImportManager(
            service: service, store: store, blobs: blobs, settings: ImportSettings(),
            logger: Logger(minimum: .error), secrets: SecretBox(key: [UInt8](repeating: 7, count: 32))!)
    }

    deinit { imports.stopHeartbeat() }

    /// What the CLI asks for: a named image of `format`, no operating system fields.
    static func request(_ name: String, format: ImageFormat = .raw) -> ImportRequest {
        var r = ImportRequest(name: name, source: .upload(size: 1))
        r.format = format
        r.kind = format == .iso ? .iso : .selfMade
        r.allowUnspecifiedOS = true
        return r
    }

    /// `imagegate image import --file path --name name` as the local platform admin.
    func importFile(
        _ path: String, name: String, format: ImageFormat = .raw, progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws(GateError) -> ImageRecord {
        try imports.importLocalFile(.localAdmin, Self.request(name, format: format), path: path, progress: progress)
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String { try dir.write(name, bytes) }
}

/// A pid no process can have: Linux caps pid_max at 2^22, so `kill(pid, 0)` fails with ESRCH.
let deadPID: Int32 = 0x7FFF_FFF0

/// SHA-256 by an independent implementation: coreutils' sha256sum in a child process.
func sha256sum(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(String(decoding: data, as: UTF8.self).prefix(while: { $0 != " " }))
}

func fileMode(_ path: String) -> mode_t? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return st.st_mode & 0o7777
}

/// Runs a tool (qemu-img, xorriso) that makes real image files; throws when it fails.
func runTool(_ argv: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw TestFailure("\(argv.joined(separator: " ")) failed") }
}
