//===----------------------------------------------------------------------===//
// ImageGate: the SQLite catalog's readiness probe (/readyz): what it notices, and that it keeps its connection.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import Glibc
@testable import SQLiteCatalog
import Synchronization
import Testing

@Suite struct ReadinessProbeTests {
    @Test("the probe keeps one connection while the catalog file stays where it is")
    func keepsItsConnection() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        for _ in 0..<3 { try store.readinessProbe(timeoutMs: 1000) }
        #expect(store.probe.opened.load(ordering: .relaxed) == 1)
    }

    @Test("a catalog moved away fails the probe; moved back, the probe answers again from a fresh connection")
    func movedAway() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        try store.readinessProbe(timeoutMs: 1000)
        #expect(rename(dir.catalogPath, dir.catalogPath + ".away") == 0)
        let err = #expect(throws: GateError.self) { try store.readinessProbe(timeoutMs: 1000) }
        #expect(err?.message.hasPrefix("cannot open \(dir.catalogPath)") == true)
        #expect(rename(dir.catalogPath + ".away", dir.catalogPath) == 0)
        try store.readinessProbe(timeoutMs: 1000)
        #expect(store.probe.opened.load(ordering: .relaxed) == 2)
    }

    @Test("another file renamed onto the path is probed through a new connection")
    func replacedFile() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        try store.readinessProbe(timeoutMs: 1000)
        let other = dir.path + "/other.db"
        #expect(throws: Never.self) { try FileManager.default.copyItem(atPath: dir.catalogPath, toPath: other) }
        #expect(rename(other, dir.catalogPath) == 0)
        try store.readinessProbe(timeoutMs: 1000)
        #expect(store.probe.opened.load(ordering: .relaxed) == 2)
        // Garbage renamed onto the path: no database, however the kept connection would have answered.
        let junk = dir.write("junk.db", Array(repeating: 0x41, count: 8192))
        #expect(rename(junk, dir.catalogPath) == 0)
        let err = #expect(throws: GateError.self) { try store.readinessProbe(timeoutMs: 1000) }
        #expect(err?.message == "\(dir.catalogPath): file is not a database")
    }

    @Test("a catalog overwritten in place with something that is no database fails the probe")
    func overwrittenInPlace() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        try store.readinessProbe(timeoutMs: 1000)
        let fd = open(dir.catalogPath, O_WRONLY)
        #expect(fd >= 0)
        let junk = [UInt8](repeating: 0x41, count: 100)
        #expect(junk.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == 100)
        close(fd)
        #expect(throws: GateError.self) { try store.readinessProbe(timeoutMs: 1000) }
    }
}
