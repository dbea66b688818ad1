//===----------------------------------------------------------------------===//
// ImageGate: SystemIO's metadata calls: errno kept with the call and path, EINTR retried, `mkdir -p` on
// existing, partial and blocked paths, directory listing, truncate and seek, the event wait.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import SystemIO
import Testing
import TestSupport

@Suite struct FileMetadataTests {
    @Test("stat, lstat and fstat describe the file; a failure keeps the call, the errno and the path")
    func statusAndErrors() throws {
        let dir = try TemporaryDirectory(prefix: "meta")
        let path = try dir.write("f", [1, 2, 3])
        #expect(symlink(path, dir.file("link")) == 0)
        let st = try FileIO.status(path)
        #expect(st.isRegularFile && !st.isDirectory && st.size == 3)
        #expect(try FileIO.status(dir.file("link")) == st)  // stat follows the link
        let link = try FileIO.linkStatus(dir.file("link"))
        #expect(!link.isRegularFile && link.inode != st.inode)
        let fd = try FileIO.open(path, O_RDONLY | O_CLOEXEC)
        defer { Sys.close(fd) }
        #expect(try FileIO.status(of: fd).inode == st.inode)
        #expect(throws: SystemError("stat", errno: ENOENT, path: dir.file("none"))) {
            try FileIO.status(dir.file("none"))
        }
        #expect(throws: SystemError("fstat", errno: EBADF)) { try FileIO.status(of: -1) }
    }

    @Test("an interrupted stat, mkdir, unlink or ftruncate is made again, not reported")
    func interruptedCallsAreRetried() throws {
        let dir = try TemporaryDirectory(prefix: "meta")
        let path = try dir.write("f", [UInt8](repeating: 7, count: 100))
        let fd = try FileIO.open(path, O_RDWR | O_CLOEXEC)
        defer { Sys.close(fd) }
        let (_, hits) = try SyscallFaults.inject([
            SyscallFault(.stat, .fail(errno: EINTR), times: 2),
            SyscallFault(.mkdir, .fail(errno: EINTR), times: 2),
            SyscallFault(.ftruncate, .fail(errno: EINTR)),
            SyscallFault(.unlink, .fail(errno: EINTR)),
        ]) { () throws(SystemError) in
            #expect(try FileIO.status(path).size == 100)
            try FileIO.makeDirectory(dir.file("d"), mode: 0o700)
            try FileIO.truncate(fd, to: 10)
            try FileIO.unlink(path)
        }
        #expect(hits == [2, 2, 1, 1])
        #expect(try FileIO.status(dir.file("d")).isDirectory)
        #expect(try FileIO.status(of: fd).size == 10)
        #expect(!FileIO.exists(path))
    }

    @Test("a failure other than EINTR is thrown once with its errno")
    func otherFailuresKeepTheirErrno() throws {
        let dir = try TemporaryDirectory(prefix: "meta")
        let path = try dir.write("f", [1])
        let (result, hits) = SyscallFaults.inject([
            SyscallFault(.unlink, .fail(errno: EIO)), SyscallFault(.chmod, .fail(errno: EROFS)),
        ]) {
            (
                Result { () throws(SystemError) in try FileIO.unlink(path) },
                Result { () throws(SystemError) in try FileIO.setPermissions(path, 0o600) }
            )
        }
        #expect(hits == [1, 1])
        #expect(throws: SystemError("unlink", errno: EIO, path: path)) { try result.0.get() }
        #expect(throws: SystemError("chmod", errno: EROFS, path: path)) { try result.1.get() }
        #expect(FileIO.exists(path))
    }

    @Test("mkdir -p makes every missing directory with the mode and leaves existing ones alone")
    func makeDirectoriesOnPartialPaths() throws {
        let dir = try TemporaryDirectory(prefix: "meta")
        // No umask change here (it is process-wide and tests run in parallel): a umask never takes owner bits.
        try FileIO.makeDirectory(dir.file("a"), mode: 0o700)
        try FileIO.setPermissions(dir.file("a"), 0o755)
        try FileIO.makeDirectories(dir.file("a/b/c"), mode: 0o700)
        #expect(try FileIO.status(dir.file("a")).permissions == 0o755)  // existing: untouched
        #expect(try FileIO.status(dir.file("a/b")).permissions == 0o700)
        #expect(try FileIO.status(dir.file("a/b/c")).permissions == 0o700)
        // An existing path costs one stat and no mkdir.
        let (_, hits) = try SyscallFaults.inject([SyscallFault(.mkdir, .fail(errno: EIO))]) {
            () throws(SystemError) in try FileIO.makeDirectories(dir.file("a/b/c"))
        }
        #expect(hits == [0])
        try FileIO.makeDirectories(dir.file("a/b/c/"))  // a trailing slash changes nothing
        for trivial in ["", ".", "/"] { try FileIO.makeDirectories(trivial) }
    }

    @Test("mkdir -p with a file in the way fails with EEXIST naming that file; other failures name the directory")
    func makeDirectoriesBlocked() throws {
        let dir = try TemporaryDirectory(prefix: "meta")
        let file = try dir.write("f", [1])
        #expect(throws: SystemError("mkdir", errno: EEXIST, path: file)) { try FileIO.makeDirectories(file) }
        #expect(throws: SystemError("mkdir", errno: EEXIST, path: file)) {
            try FileIO.makeDirectories(file + "/x/y")
        }
        // The second mkdir (of a/b) fails: the error names a/b, and a stays made.
        let (result, hits) = SyscallFaults.inject([SyscallFault(.mkdir, .fail(errno: EACCES), skip: 1)]) {
            Result { () throws(SystemError) in try FileIO.makeDirectories(dir.file("a/b/c")) }
        }
        #expect(hits == [1])
        #expect(throws: SystemError("mkdir", errno: EACCES, path: dir.file("a/b"))) { try result.get() }
        #expect(try FileIO.status(dir.file("a")).isDirectory)
        #expect(!FileIO.exists(dir.file("a/b")))
    }

    @Test("a directory lists its entries without . and ..; a missing one fails in opendir")
    func directoryEntries() throws {
        let dir = try TemporaryDirectory(prefix: "meta")
        try dir.write("x", [])
        try dir.write(".hidden", [])
        try FileIO.makeDirectory(dir.file("sub"), mode: 0o700)
        #expect(try FileIO.directoryEntries(dir.path).sorted() == [".hidden", "sub", "x"])
        #expect(throws: SystemError("opendir", errno: ENOENT, path: dir.file("none"))) {
            try FileIO.directoryEntries(dir.file("none"))
        }
        let (result, hits) = SyscallFaults.inject([SyscallFault(.opendir, .fail(errno: EMFILE))]) {
            Result { () throws(SystemError) in try FileIO.directoryEntries(dir.path) }
        }
        #expect(hits == [1])
        #expect(throws: SystemError("opendir", errno: EMFILE, path: dir.path)) { try result.get() }
    }

    @Test("truncate, seek and seekToEnd move the size and the position; fchmod sets the mode exactly")
    func truncateSeekAndMode() throws {
        let dir = try TemporaryDirectory(prefix: "meta")
        let path = try dir.write("f", [UInt8](repeating: 1, count: 50))
        let fd = try FileIO.open(path, O_RDWR | O_CLOEXEC)
        defer { Sys.close(fd) }
        #expect(try FileIO.seekToEnd(fd) == 50)
        try FileIO.truncate(fd, to: 20)
        #expect(try FileIO.seek(fd, to: 20) == 20)
        try FileIO.writeAll(fd, [9])
        #expect(try FileIO.status(path).size == 21)
        try FileIO.setPermissions(of: fd, 0o640)
        #expect(try FileIO.status(path).permissions == 0o640)
        #expect(throws: SystemError("ftruncate", errno: EBADF)) { try FileIO.truncate(-1, to: 0) }
    }

    @Test("checkAccess and exists answer as access(2) does")
    func access() throws {
        let dir = try TemporaryDirectory(prefix: "meta")
        let path = try dir.write("f", [1])
        #expect(FileIO.exists(path) && !FileIO.exists(dir.file("none")))
        try FileIO.checkAccess(dir.path, R_OK | W_OK | X_OK)
        #expect(throws: SystemError("access", errno: ENOENT, path: dir.file("none"))) {
            try FileIO.checkAccess(dir.file("none"), R_OK)
        }
    }

    @Test("an event descriptor's wait returns on a signal and times out without one")
    func eventWait() throws {
        let event = try EventFD()
        defer { event.close() }
        #expect(!event.wait(timeoutMs: 0))
        event.signal()
        #expect(event.wait(timeoutMs: 1000))
    }
}
