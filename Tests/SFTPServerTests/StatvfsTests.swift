//===----------------------------------------------------------------------===//
// ImageGate: `statvfs@openssh.com` (OpenSSH sftp `df`) describes the virtual file system, never the host's
// disk (issue #11 item 25).
//===----------------------------------------------------------------------===//
import SFTPServer
import Testing

@Suite struct StatvfsTests {
    @Test func versionAdvertisesStatvfsAfterLimits() {
        let r = Harness(initialize: false).one(Req(SFTPType.initialize).u32(3))
        var at = 4
        var names: [String: String] = [:]
        while at < r.body.count {
            let (name, next) = r.string(at: at)
            let (value, after) = r.string(at: next)
            names[name] = value
            at = after
        }
        #expect(names == ["limits@openssh.com": "1", "statvfs@openssh.com": "2"])
    }

    @Test(arguments: ["/", ".", "/disk.qcow2", "disk.qcow2"])
    func statvfsDescribesTheOneReadOnlyFile(_ path: String) {
        let r = Harness(size: 10_000).one(Req(SFTPType.extended).u32(7).str("statvfs@openssh.com").str(path))
        #expect(r.type == SFTPType.extendedReply)
        #expect(r.u32(at: 0) == 7)
        let f = (0..<11).map { r.u64(at: 4 + 8 * $0) }
        #expect(f[0] == 4096 && f[1] == 4096)  // bsize, frsize
        #expect(f[2] == 3 && f[3] == 0 && f[4] == 0)  // blocks = ceil(10000 / 4096), nothing free
        #expect(f[5] == 1 && f[6] == 0 && f[7] == 0)  // one file, no free inodes
        #expect(f[9] & 1 == 1)  // ST_RDONLY
        #expect(f[10] == 255)
        #expect(r.body.count == 4 + 11 * 8)
    }

    @Test func statvfsOfAMissingPathIsNoSuchFile() {
        let r = Harness().one(Req(SFTPType.extended).u32(3).str("statvfs@openssh.com").str("/etc"))
        #expect(r.type == SFTPType.status)
        #expect(r.u32(at: 4) == 2)
    }
}
