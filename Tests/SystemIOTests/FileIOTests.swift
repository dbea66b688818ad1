//===----------------------------------------------------------------------===//
// ImageGate: SystemIO's file calls under injected faults: EINTR, short writes and reads, a write that takes
// nothing, advice that fails.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import SystemIO
import Testing
import TestSupport

@Suite struct FileIOTests {
    static func contents(_ path: String) throws -> [UInt8] {
        let fd = try FileIO.open(path, O_RDONLY | O_CLOEXEC)
        defer { Sys.close(fd) }
        return try #require(try FileIO.readToEnd(fd, limit: 1 << 20))
    }

    static func create(_ path: String) throws -> Int32 {
        try FileIO.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600)
    }

    @Test("writeAll goes on through EINTR and short writes and writes every byte once, in order")
    func writeAllThroughInterruptsAndShortWrites() throws {
        let dir = try TemporaryDirectory(prefix: "fileio")
        var random = SeededRandom(seed: 1)
        let bytes = random.bytes(1000)
        let fd = try Self.create(dir.file("f"))
        defer { Sys.close(fd) }
        let (_, hits) = try SyscallFaults.inject([
            SyscallFault(.write, .fail(errno: EINTR), times: 2),
            SyscallFault(.write, .limit(7), times: 20),
            SyscallFault(.write, .fail(errno: EINTR), times: 1),
        ]) { () throws(SystemError) in try FileIO.writeAll(fd, bytes) }
        // Every fault was reached: 2 interrupted calls, 20 short ones (140 bytes), one more interrupt.
        #expect(hits == [2, 20, 1])
        #expect(try Self.contents(dir.file("f")) == bytes)
    }

    @Test("a write that takes no byte is reported as EIO instead of looping for ever")
    func writeTakingNothingFails() throws {
        let dir = try TemporaryDirectory(prefix: "fileio")
        let fd = try Self.create(dir.file("f"))
        defer { Sys.close(fd) }
        let (result, hits) = SyscallFaults.inject([SyscallFault(.write, .returnZero)]) {
            Result { () throws(SystemError) in try FileIO.writeAll(fd, [1, 2, 3]) }
        }
        #expect(hits == [1])
        #expect(throws: SystemError("write", errno: EIO)) { try result.get() }
    }

    @Test("a write error other than EINTR is thrown with its errno")
    func writeErrorKeepsErrno() throws {
        let dir = try TemporaryDirectory(prefix: "fileio")
        let fd = try Self.create(dir.file("f"))
        defer { Sys.close(fd) }
        // A short write first, so the error comes in the middle of the loop.
        let (result, hits) = SyscallFaults.inject([
            SyscallFault(.write, .limit(4)), SyscallFault(.write, .fail(errno: ENOSPC)),
        ]) {
            Result { () throws(SystemError) in try FileIO.writeAll(fd, [UInt8](repeating: 9, count: 10)) }
        }
        #expect(hits == [1, 1])
        #expect(throws: SystemError("write", errno: ENOSPC)) { try result.get() }
    }

    @Test("preadFully and pread go on through EINTR and short reads")
    func preadThroughInterruptsAndShortReads() throws {
        let dir = try TemporaryDirectory(prefix: "fileio")
        var random = SeededRandom(seed: 2)
        let bytes = random.bytes(5000)
        let path = try dir.write("f", bytes)
        let fd = try FileIO.open(path, O_RDONLY | O_CLOEXEC)
        defer { Sys.close(fd) }
        var got = [UInt8](repeating: 0, count: 4000)
        let (n, hits) = try SyscallFaults.inject([
            SyscallFault(.pread, .fail(errno: EINTR), times: 3),
            SyscallFault(.pread, .limit(100), times: 5),
        ]) { () throws(SystemError) in
            try got.withUnsafeMutableBytes { b in
                Result { () throws(SystemError) in try FileIO.preadFully(fd, into: b, at: 1000) }
            }.get()
        }
        #expect(hits == [3, 5])
        #expect(n == 4000)
        #expect(got == Array(bytes[1000..<5000]))
    }

    @Test("a fault installed by one thread never reaches a call on another thread")
    func faultsStayWithTheirThread() throws {
        let dir = try TemporaryDirectory(prefix: "fileio")
        let path = dir.file("f")
        let (_, hits) = SyscallFaults.inject([SyscallFault(.write, .fail(errno: EIO))]) {
            let thread = OSThread.spawn(name: "other") {
                guard let fd = try? FileIO.open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode: 0o600) else { return }
                _ = try? FileIO.writeAll(fd, [1, 2, 3])
                Sys.close(fd)
            }
            thread.join()
        }
        #expect(hits == [0])
        #expect(try Self.contents(path) == [1, 2, 3])
    }

    @Test("sequential advice is given through the seam (its failure is ignored)")
    func adviceGoesThroughTheSeam() throws {
        let dir = try TemporaryDirectory(prefix: "fileio")
        let path = try dir.write("f", [1])
        let fd = try FileIO.open(path, O_RDONLY | O_CLOEXEC)
        defer { Sys.close(fd) }
        let (_, hits) = SyscallFaults.inject([SyscallFault(.fadvise, .fail(errno: EINVAL))]) {
            FileIO.adviseSequential(fd)
        }
        #expect(hits == [1])
    }
}
