//===----------------------------------------------------------------------===//
// ImageGate: the CLI's output files (`link mint --output`, `image export --output`) are written atomically and
// durably: a failed fsync leaves the old file as it was and no temporary file; links are 0600 exactly.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
@testable import ImageGateApp
import SystemIO
import Testing
import TestSupport

@Suite struct OutputFileTests {
    static var link: [[String: Any]] {
        [
            [
                "link": [
                    "image_id": "img-1", "serial": "s1", "expires_at": "2030-01-01T00:00:00Z", "https": "https://x/t",
                ]
            ]
        ]
    }

    static func contents(_ path: String) throws -> [UInt8] {
        let fd = try FileIO.open(path, O_RDONLY | O_CLOEXEC)
        defer { Sys.close(fd) }
        return try #require(try FileIO.readToEnd(fd, limit: 1 << 20))
    }

    @Test("link mint --output: 0600 exactly, and a failed fsync keeps the old file and leaves no temporary file")
    func linkOutputIsAtomicAndPrivate() throws {
        let dir = try TemporaryDirectory(prefix: "mint-out")
        let path = try dir.write("links.csv", Array("old\n".utf8))
        try FileIO.setPermissions(path, 0o644)
        let (result, hits) = SyscallFaults.inject([SyscallFault(.fsync, .fail(errno: EIO))]) {
            Result { () throws(GateError) in try LinkMintCommand.write(Self.link, to: path) }
        }
        #expect(hits == [1])
        #expect(throws: GateError.io("cannot write \(path)")) { try result.get() }
        #expect(try Self.contents(path) == Array("old\n".utf8))
        #expect(try FileIO.directoryEntries(dir.path) == ["links.csv"])

        try LinkMintCommand.write(Self.link, to: path)
        #expect(String(decoding: try Self.contents(path), as: UTF8.self).contains("https://x/t"))
        #expect(try FileIO.status(path).permissions == 0o600)
    }

    @Test("image export --output: a failed fsync keeps the old file; a missing directory is 'cannot write'")
    func exportOutputIsAtomic() throws {
        let dir = try TemporaryDirectory(prefix: "export-out")
        let path = try dir.write("images.csv", [1, 2, 3])
        let (result, hits) = SyscallFaults.inject([SyscallFault(.fsync, .fail(errno: EIO))]) {
            Result { () throws(GateError) in try ImageCommands.writeExport([4, 5, 6], to: path) }
        }
        #expect(hits == [1])
        #expect(throws: GateError.io("cannot write \(path)")) { try result.get() }
        #expect(try Self.contents(path) == [1, 2, 3])
        #expect(try FileIO.directoryEntries(dir.path) == ["images.csv"])

        try ImageCommands.writeExport([4, 5, 6], to: path)
        #expect(try Self.contents(path) == [4, 5, 6])
        let missing = dir.file("no/such/dir.csv")
        #expect(throws: GateError.io("cannot write \(missing)")) { try ImageCommands.writeExport([1], to: missing) }
    }
}
