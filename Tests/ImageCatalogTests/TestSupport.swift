//===----------------------------------------------------------------------===//
// ImageGate: helpers for catalog tests (temp directories, files, fixtures).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Foundation
import GateCore
import Glibc
import ImageCatalog
import SQLiteCatalog

/// A fresh directory under /tmp, removed when the value goes away.
final class TempDir {
    let path: String

    init() {
        var template = Array("/tmp/imagegate-catalog-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var catalogPath: String { path + "/catalog/catalog.db" }
    var blobs: BlobStore { BlobStore(root: path + "/store") }

    func openStore(clock: any WallClock = ManualClock(1_700_000_000)) throws -> SQLiteCatalogStore {
        try SQLiteCatalogStore.open(path: catalogPath, clock: clock)
    }

    /// Writes `bytes` to a new file named `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let p = path + "/" + name
        precondition(FileManager.default.createFile(atPath: p, contents: Data(bytes)), "cannot write \(p)")
        return p
    }
}

/// A pid no process can have: Linux caps pid_max at 2^22, so `kill(pid, 0)` fails with ESRCH.
let deadPID: Int32 = 0x7FFF_FFF0

func randomBytes(_ count: Int) -> [UInt8] { Crypto.randomBytes(count) }

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
    let text = String(decoding: data, as: UTF8.self)
    return String(text.prefix(while: { $0 != " " }))
}

func fileMode(_ path: String) -> mode_t? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return st.st_mode & 0o7777
}

func readAll(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

/// A plain record for store tests.
func sampleRecord(
    name: String = "ubuntu-24.04", tenant: TenantID = .defaultTenant, status: ImageStatus = .available,
    createdAt: Int64 = 1_700_000_000, size: UInt64 = 1234
) -> ImageRecord {
    ImageRecord(
        id: ImageRecord.newID(), tenant: tenant, name: name, remarks: "remark",
        fileName: ImageRecord.downloadFileName(name: name, format: .qcow2), format: .qcow2, size: size,
        sha256: String(repeating: "ab", count: 32), status: status, generation: 1, failureReason: nil,
        createdAt: createdAt, updatedAt: createdAt, finalizedAt: status == .available ? createdAt : nil)
}
