//===----------------------------------------------------------------------===//
// ImageGate: SFTP request handling, one table row per request shape clients and attackers send.
//===----------------------------------------------------------------------===//
import SFTPServer
import Testing
import TestSupport

@Suite struct HandshakeTests {
    @Test func versionAdvertisesLimits() {
        let h = Harness(initialize: false)
        let r = h.one(Req(SFTPType.initialize).u32(6))  // lftp asks for 6; we answer 3
        #expect(r.type == SFTPType.version)
        #expect(r.u32(at: 0) == 3)
        let (name, next) = r.string(at: 4)
        #expect(name == "limits@openssh.com")
        #expect(r.string(at: next).0 == "1")
    }

    @Test func requestBeforeInitEndsSession() {
        let h = Harness(initialize: false)
        #expect(h.run(Req(SFTPType.realpath).u32(1).str(".")) == .close("request before INIT"))
    }

    @Test func secondInitEndsSession() {
        #expect(Harness().run(Req(SFTPType.initialize).u32(3)) == .close("second INIT"))
    }

    @Test func limitsReply() {
        let r = Harness().one(Req(SFTPType.extended).u32(5).str("limits@openssh.com"))
        #expect(r.type == SFTPType.extendedReply)
        #expect(r.u64(at: 4) == 262_144)
        #expect(r.u64(at: 12) == 261_120)
        #expect(r.u64(at: 28) == 64)
    }
}

@Suite struct StatusTableTests {
    static let f = "/disk.qcow2"
    /// (request, expected status) for every request answered with a plain STATUS.
    static let rows: [(String, Req, SFTPStatus)] = [
        ("stat missing", Req(SFTPType.stat).u32(1).str("/nope"), .noSuchFile),
        ("lstat escape", Req(SFTPType.lstat).u32(1).str("../../etc/passwd"), .noSuchFile),
        ("realpath escape", Req(SFTPType.realpath).u32(1).str("../../etc"), .noSuchFile),
        ("realpath /tmp (cd /tmp)", Req(SFTPType.realpath).u32(1).str("/tmp"), .noSuchFile),
        ("open for write", Req(SFTPType.open).u32(1).str(f).u32(0x1A).u32(0), .permissionDenied),
        ("open new file (put)", Req(SFTPType.open).u32(1).str("/x").u32(0x1A).u32(0), .permissionDenied),
        ("open read+write", Req(SFTPType.open).u32(1).str(f).u32(0x3).u32(0), .permissionDenied),
        ("open append", Req(SFTPType.open).u32(1).str(f).u32(0x5).u32(0), .permissionDenied),
        ("open missing", Req(SFTPType.open).u32(1).str("/etc/passwd").u32(1).u32(0), .noSuchFile),
        ("open dir", Req(SFTPType.open).u32(1).str("/").u32(1).u32(0), .failure),
        ("opendir file", Req(SFTPType.opendir).u32(1).str(f), .noSuchFile),
        ("opendir /etc", Req(SFTPType.opendir).u32(1).str("/etc"), .noSuchFile),
        ("write", Req(SFTPType.write).u32(1).bytes([0, 0, 0, 1]).u64(0).str("x"), .permissionDenied),
        ("remove", Req(SFTPType.remove).u32(1).str(f), .permissionDenied),
        ("mkdir", Req(SFTPType.mkdir).u32(1).str("/d").u32(0), .permissionDenied),
        ("rmdir", Req(SFTPType.rmdir).u32(1).str("/"), .permissionDenied),
        ("rename", Req(SFTPType.rename).u32(1).str(f).str("/b"), .permissionDenied),
        ("setstat (chmod)", Req(SFTPType.setstat).u32(1).str(f).u32(4).u32(0o600), .permissionDenied),
        ("fsetstat", Req(SFTPType.fsetstat).u32(1).bytes([0, 0, 0, 1]).u32(0), .permissionDenied),
        ("symlink", Req(SFTPType.symlink).u32(1).str("/a").str(f), .permissionDenied),
        ("readlink", Req(SFTPType.readlink).u32(1).str(f), .badMessage),
        (
            "posix-rename", Req(SFTPType.extended).u32(1).str("posix-rename@openssh.com").str(f).str("/b"),
            .permissionDenied
        ),
        (
            "statvfs of a missing path", Req(SFTPType.extended).u32(1).str("statvfs@openssh.com").str("/etc"),
            .noSuchFile
        ),
        ("unknown type 99", Req(99).u32(1).str("x"), .opUnsupported),
        ("read bad handle", Req(SFTPType.read).u32(1).bytes([9, 9, 9, 9]).u64(0).u32(10), .badMessage),
        (
            "read 300-byte handle", Req(SFTPType.read).u32(1).bytes(.init(repeating: 1, count: 300)).u64(0).u32(10),
            .badMessage
        ),
        ("close bad handle", Req(SFTPType.close).u32(1).bytes([]), .badMessage),
        ("fstat bad handle", Req(SFTPType.fstat).u32(1).bytes([0, 0, 0, 0]), .badMessage),
    ]

    @Test(arguments: rows.indices)
    func statusReply(row: Int) {
        let (what, req, expected) = Self.rows[row]
        let replies = Harness().replies(req)
        #expect(replies.count == 1, "\(what)")
        #expect(replies.first?.type == SFTPType.status, "\(what)")
        #expect(replies.first?.id == 1, "\(what)")
        #expect(replies.first?.status == expected.rawValue, "\(what)")
    }
}

@Suite struct ReadTests {
    @Test func realpathOfDotIsRoot() {
        for p in [".", "", "/x/..", "/disk.qcow2/.."] {
            let r = Harness().one(Req(SFTPType.realpath).u32(3).str(p))
            #expect(r.type == SFTPType.name)
            #expect(r.u32(at: 4) == 1)
            #expect(r.string(at: 8).0 == "/")
        }
    }

    @Test func statGivesSizeAndMode() {
        let r = Harness(size: 12345).one(Req(SFTPType.stat).u32(4).str("disk.qcow2"))
        #expect(r.type == SFTPType.attrs)
        #expect(r.u32(at: 4) == 0xF)
        #expect(r.u64(at: 8) == 12345)
        #expect(r.u32(at: 24) == 0o100444)
    }

    @Test func readAnywhereClampedAndEOF() {
        let h = Harness(size: 1000)
        let handle = h.open()
        #expect(handle.count == 4)
        let fstat = h.one(Req(SFTPType.fstat).u32(2).bytes(handle))
        #expect(fstat.u64(at: 8) == 1000)
        // Unaligned resume offset, as `reget` sends.
        let r1 = h.one(Req(SFTPType.read).u32(3).bytes(handle).u64(777).u32(100))
        #expect(r1.type == SFTPType.data && r1.id == 3)
        #expect(r1.blob == Array(h.data[777..<877]))
        // Past the end: short read of what is left.
        let r2 = h.one(Req(SFTPType.read).u32(4).bytes(handle).u64(990).u32(100))
        #expect(r2.blob == Array(h.data[990..<1000]))
        // At and after the end: EOF.
        for off: UInt64 in [1000, 1001, UInt64.max] {
            let r = h.one(Req(SFTPType.read).u32(5).bytes(handle).u64(off).u32(100))
            #expect(r.type == SFTPType.status && r.status == SFTPStatus.eof.rawValue)
        }
        #expect(h.processor.bytesSent == 110)
        #expect(h.one(Req(SFTPType.close).u32(6).bytes(handle)).status == 0)
        #expect(h.processor.openHandles == 0)
    }

    @Test("a READ the blob's store cannot serve (object store down) is SSH_FX_FAILURE with a retry message")
    func storeFailureIsAFailureStatus() throws {
        let dir = try TemporaryDirectory(prefix: "sftp-store")
        let path = try dir.write("blob", [UInt8](repeating: 5, count: 1000))
        let h = Harness(size: 1000, source: BlobByteSource(blob: try FailingStoreReader(path: path, failFrom: 500)))
        let handle = h.open()
        #expect(
            h.one(Req(SFTPType.read).u32(3).bytes(handle).u64(0).u32(100)).blob == [UInt8](repeating: 5, count: 100))
        let r = h.one(Req(SFTPType.read).u32(4).bytes(handle).u64(600).u32(100))
        #expect(r.type == SFTPType.status && r.status == SFTPStatus.failure.rawValue)
        #expect(r.string(at: 8).0 == "Storage temporarily unavailable; try again later")
        // The session goes on: a readable offset still reads.
        #expect(h.one(Req(SFTPType.read).u32(5).bytes(handle).u64(10).u32(10)).blob.count == 10)
    }

    @Test func oversizeReadIsClamped() {
        let h = Harness(size: 600_000)
        let handle = h.open()
        let r = h.one(Req(SFTPType.read).u32(3).bytes(handle).u64(1).u32(0xFFFF_FFFF))
        #expect(r.blob.count == SFTPWireLimits.maxRead)
        #expect(r.blob == Array(h.data[1..<1 + SFTPWireLimits.maxRead]))
    }

    @Test func pipelinedReadsAnswerInOrder() {
        let h = Harness(size: 200_000)
        let handle = h.open()
        h.out.removeAll()
        for i in 0..<64 { h.run(Req(SFTPType.read).u32(UInt32(100 + i)).bytes(handle).u64(UInt64(i * 2000)).u32(2000)) }
        let replies = Harness.decode(Array(h.out.bytes))
        #expect(replies.map(\.id) == (0..<64).map { UInt32(100 + $0) })
        #expect(replies.flatMap(\.blob) == Array(h.data[0..<128_000]))
    }

    @Test func readdirListsOnlyTheFileThenEOF() {
        let h = Harness(size: 1000)
        let dir = h.one(Req(SFTPType.opendir).u32(1).str("/")).blob
        let names = h.one(Req(SFTPType.readdir).u32(2).bytes(dir))
        #expect(names.type == SFTPType.name && names.u32(at: 4) == 3)
        var o = 8
        var listed: [String] = []
        for _ in 0..<3 {
            let (n, next) = names.string(at: o)
            let (long, afterLong) = names.string(at: next)
            listed.append(n)
            if n == "disk.qcow2" { #expect(long.hasPrefix("-r--r--r--")) }
            o = afterLong + 4 + 8 + 8 + 4 + 8
        }
        #expect(listed == [".", "..", "disk.qcow2"])
        #expect(h.one(Req(SFTPType.readdir).u32(3).bytes(dir)).status == SFTPStatus.eof.rawValue)
        // A directory handle cannot be read as a file.
        #expect(h.one(Req(SFTPType.read).u32(4).bytes(dir).u64(0).u32(10)).status == SFTPStatus.failure.rawValue)
    }

    @Test func handleTableIsBounded() {
        let h = Harness()
        for _ in 0..<SFTPWireLimits.maxHandles { #expect(h.open().count == 4) }
        let r = h.one(Req(SFTPType.open).u32(10).str("/disk.qcow2").u32(1).u32(0))
        #expect(r.type == SFTPType.status && r.status == SFTPStatus.failure.rawValue)
    }
}
