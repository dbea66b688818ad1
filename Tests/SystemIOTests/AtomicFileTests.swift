//===----------------------------------------------------------------------===//
// ImageGate: the one atomic file write: each step failing in turn leaves the old file as it was and no
// temporary file behind; a failed fsync is reported, never ignored.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemIO
import Testing
import TestSupport

@Suite struct AtomicFileTests {
    static func contents(_ path: String) throws -> [UInt8] {
        let fd = try FileIO.open(path, O_RDONLY | O_CLOEXEC)
        defer { Sys.close(fd) }
        return try #require(try FileIO.readToEnd(fd, limit: 1 << 20))
    }

    static func names(_ dir: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    static func mode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
    }

    @Test("replaces the file's bytes; only the file is left in the directory")
    func replaces() throws {
        let dir = try TemporaryDirectory(prefix: "atomic")
        let path = try dir.write("key", Array("old".utf8))
        try AtomicFile.write(Array("new".utf8), to: path, mode: 0o600, enforceMode: true)
        #expect(try Self.contents(path) == Array("new".utf8))
        #expect(try Self.names(dir) == ["key"])
        #expect(Self.mode(path) == 0o600)
    }

    @Test("enforceMode sets the mode exactly; without it the umask applies")
    func modes() throws {
        let dir = try TemporaryDirectory(prefix: "atomic")
        // The process umask is read, not set: other tests in this process create files meanwhile.
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Umask:") })
        let mask = try #require(mode_t(line.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8))
        try AtomicFile.write([1], to: dir.file("exact"), mode: 0o666, enforceMode: true)
        try AtomicFile.write([1], to: dir.file("masked"), mode: 0o666)
        #expect(Self.mode(dir.file("exact")) == 0o666)
        #expect(Self.mode(dir.file("masked")) == 0o666 & ~mask)
    }

    static let failures: [(SyscallFault, AtomicFileError.Step, String)] = [
        (SyscallFault(.open, .fail(errno: EACCES)), .create, "open"),
        (SyscallFault(.write, .fail(errno: ENOSPC)), .write, "write"),
        (SyscallFault(.write, .returnZero), .write, "write"),
        (SyscallFault(.fsync, .fail(errno: EIO)), .sync, "fsync"),
        (SyscallFault(.rename, .fail(errno: EXDEV)), .place, "rename"),
    ]

    @Test(
        "a step failing before the rename leaves the old file intact and no temporary file",
        arguments: 0..<failures.count)
    func failedStepKeepsOldFile(_ index: Int) throws {
        let (fault, step, call) = Self.failures[index]
        let dir = try TemporaryDirectory(prefix: "atomic")
        let path = try dir.write("key", Array("old".utf8))
        let (result, hits) = SyscallFaults.inject([fault]) {
            Result { () throws(AtomicFileError) in try AtomicFile.write(Array("new".utf8), to: path, mode: 0o600) }
        }
        #expect(hits == [1])
        let error = try #require(throws: AtomicFileError.self) { try result.get() }
        #expect(error.step == step)
        #expect(error.cause.call == call)
        if case .fail(let e) = fault.effect { #expect(error.errno == e) }
        #expect(try Self.contents(path) == Array("old".utf8))
        #expect(try Self.names(dir) == ["key"])
    }

    @Test("a failed fsync of the directory is reported; the new file is already in place")
    func directorySyncFailureReported() throws {
        let dir = try TemporaryDirectory(prefix: "atomic")
        let path = try dir.write("key", Array("old".utf8))
        // The first fsync is the file's, the second the directory's.
        let (result, hits) = SyscallFaults.inject([SyscallFault(.fsync, .fail(errno: EIO), skip: 1)]) {
            Result { () throws(AtomicFileError) in try AtomicFile.write(Array("new".utf8), to: path, mode: 0o600) }
        }
        #expect(hits == [1])
        let error = try #require(throws: AtomicFileError.self) { try result.get() }
        #expect(error.step == .syncDirectory)
        #expect(error.path == dir.path)
        #expect(error.errno == EIO)
        #expect(try Self.contents(path) == Array("new".utf8))
        #expect(try Self.names(dir) == ["key"])
    }

    @Test("createNew never replaces an existing file and leaves no temporary file")
    func createNewKeepsExisting() throws {
        let dir = try TemporaryDirectory(prefix: "atomic")
        let path = try dir.write("id", Array("first".utf8))
        let error = try #require(throws: AtomicFileError.self) {
            try AtomicFile.write(Array("second".utf8), to: path, mode: 0o600, placement: .createNew)
        }
        #expect(error.step == .place)
        #expect(error.errno == EEXIST)
        #expect(try Self.contents(path) == Array("first".utf8))
        #expect(try Self.names(dir) == ["id"])
        try AtomicFile.write(Array("other".utf8), to: dir.file("id2"), mode: 0o600, placement: .createNew)
        #expect(try Self.contents(dir.file("id2")) == Array("other".utf8))
        #expect(try Self.names(dir) == ["id", "id2"])
    }

    @Test("commit consumes the descriptor and reports a failed fsync with its errno, leaving the staging file")
    func commitReportsFailedSync() throws {
        let dir = try TemporaryDirectory(prefix: "atomic")
        let staging = dir.file("staging")
        let fd = try FileIO.open(staging, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600)
        try FileIO.writeAll(fd, [1, 2, 3])
        let (result, hits) = SyscallFaults.inject([SyscallFault(.fsync, .fail(errno: EIO))]) {
            Result { () throws(AtomicFileError) in
                try AtomicFile.commit(fd: fd, temporary: staging, to: dir.file("blob"))
            }
        }
        #expect(hits == [1])
        let error = try #require(throws: AtomicFileError.self) { try result.get() }
        #expect(error.step == .sync)
        #expect(error.errno == EIO)
        #expect(fcntl(fd, F_GETFD) == -1)  // closed
        #expect(try Self.names(dir) == ["staging"])
    }
}
