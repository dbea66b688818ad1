//===----------------------------------------------------------------------===//
// ImageGate: the one-file view: paths, SIZE/MDTM, REST, RETR, listings, refusals (§6.1, §6.4).
//===----------------------------------------------------------------------===//
import FTPServer
import GateCore
import SystemIO
import Testing

@Suite struct FTPFileCommandTests {
    @Test(
        "simple commands",
        arguments: [
            ("SYST", 215), ("TYPE I", 200), ("TYPE A", 200), ("TYPE X", 504), ("MODE S", 200), ("MODE B", 504),
            ("STRU F", 200), ("PWD", 257), ("XPWD", 257), ("CWD /", 250), ("CWD ..", 250), ("CWD ../..", 250),
            ("CWD /..", 250), ("CWD .", 250), ("CDUP", 250), ("CWD /etc", 550), ("CWD centos-7.qcow2", 550),
            ("CWD ../../etc", 550), ("NOOP", 200), ("OPTS UTF8 ON", 200), ("OPTS MLST type;size;", 200),
            ("OPTS FOO", 501), ("ALLO 100", 202), ("STAT", 211), ("SITE CHMOD 777 x", 502), ("XYZZY", 502),
            ("PORT 10,0,0,5,0,22", 502), ("PORT 127,0,0,1,200,10", 502), ("EPRT |1|198.51.100.9|8080|", 502),
            ("EPRT |2|::1|8080|", 502), ("STOR x", 550), ("APPE centos-7.qcow2", 550), ("DELE centos-7.qcow2", 550),
            ("MKD d", 550), ("RMD d", 550), ("RNFR centos-7.qcow2", 550), ("RNTO y", 550), ("STOU", 550),
            ("EPSV 2", 522), ("EPSV ALL", 200),
        ])
    func simple(line: String, code: Int) {
        var s = FTPSession.loggedIn()
        #expect(s.codes(line) == [code], "\(line)")
    }

    @Test(
        "paths that name the file",
        arguments: [
            "centos-7.qcow2", "/centos-7.qcow2", "./centos-7.qcow2",
            "/./centos-7.qcow2", "~/centos-7.qcow2", "//centos-7.qcow2",
        ])
    func fileNames(path: String) {
        var s = FTPSession.loggedIn()
        #expect(replies(s.send("SIZE " + path)) == [FTPReply(213, "1000000")])
        #expect(replies(s.send("MDTM " + path)) == [FTPReply(213, "20231114221320")])
    }

    @Test(
        "path escapes and other names are 550",
        arguments: [
            "../../etc/passwd", "/etc/passwd", "../centos-7.qcow2", "/../centos-7.qcow2", "centos-7.qcow2/..",
            "CENTOS-7.QCOW2", "centos-7.qcow2/", "x/../centos-7.qcow2", "..\\centos-7.qcow2", "/", "",
            "dir/centos-7.qcow2",
        ])
    func escapes(path: String) {
        var s = FTPSession.loggedIn()
        s.pasv()
        #expect(s.codes("SIZE " + path) == [path == "centos-7.qcow2/" ? 213 : 550], "\(path)")
        #expect(s.codes("MDTM " + path).allSatisfy { $0 == 550 || path == "centos-7.qcow2/" })
        let r = s.send("RETR " + path)
        if path != "centos-7.qcow2/" { #expect(replies(r).map(\.code) == [550], "\(path)") }
    }

    @Test(
        "REST refusals",
        arguments: [
            "-1", "abc", "99999999999999999999", "", "+5", "1e3", " 5", "18446744073709551616",
        ])
    func restSyntax(arg: String) {
        var s = FTPSession.loggedIn()
        #expect(s.codes("REST " + arg) == [501])
        #expect(s.restOffset == nil)
    }

    @Test func restThenRetrFromOffsetAndReset() {
        var s = FTPSession.loggedIn()
        #expect(s.codes("REST 1000") == [350])
        s.pasv()
        #expect(s.send("RETR centos-7.qcow2") == [.transfer(.file(testFile, offset: 1000))])
        #expect(s.restOffset == nil)
        s.pasv()
        #expect(s.send("RETR /centos-7.qcow2") == [.transfer(.file(testFile, offset: 0))])
    }

    @Test func restAtSizeIsAnEmptyTransferAndPastSizeIs554() {
        var s = FTPSession.loggedIn()
        _ = s.send("REST 1000000")
        s.pasv()
        #expect(s.send("RETR centos-7.qcow2") == [.transfer(.file(testFile, offset: 1_000_000))])
        #expect(s.codes("REST 1000001") == [350])
        s.pasv()
        #expect(s.codes("RETR centos-7.qcow2") == [554])
        #expect(s.restOffset == nil)
        #expect(s.passiveOpen)  // nothing was sent: the listener may still serve the next command
    }

    @Test func dataCommandsNeedPassiveAndProtP() {
        var s = FTPSession.loggedIn()
        #expect(s.codes("RETR centos-7.qcow2") == [425])
        #expect(s.codes("LIST") == [425])
        var c = FTPSession.make()
        _ = c.send("AUTH TLS")
        c.tlsEstablished()
        _ = c.send("USER x")
        _ = c.send("PASS " + goodToken)
        c.pasv()
        #expect(c.codes("RETR centos-7.qcow2") == [522])
        #expect(c.codes("NLST") == [522])
        // Plain allowed: clear data after AUTH TLS is fine.
        var p = FTPSession.make(allowPlain: true)
        _ = p.send("AUTH TLS")
        p.tlsEstablished()
        _ = p.send("PBSZ 0")
        #expect(p.codes("PROT C") == [200])
    }

    @Test func passiveReplacesTheOpenListener() {
        var s = FTPSession.loggedIn()
        #expect(s.send("PASV") == [.openPassive(extended: false)])
        #expect(s.send("EPSV") == [.closePassive, .openPassive(extended: true)])
        #expect(s.send("ABOR") == [.closePassive, .reply(FTPReply(225, "No transfer to abort."))])
        #expect(!s.passiveOpen)
    }

    @Test func pasvOnIPv6IsRefused() {
        let v6 = PeerAddress(host: "::1", port: 1, bytes: Array(repeating: 0, count: 15) + [1])
        var s = FTPSession(config: FTPConfig(), policy: FakePolicy(), peer: v6, tlsAvailable: true)
        _ = s.send("AUTH TLS")
        s.tlsEstablished()
        _ = s.send("PBSZ 0")
        _ = s.send("PROT P")
        _ = s.send("USER x")
        _ = s.send("PASS " + goodToken)
        #expect(s.codes("PASV") == [425])
        #expect(s.send("EPSV") == [.openPassive(extended: true)])
        #expect(s.codes("EPSV 1") == [522])
    }

    @Test func listings() {
        var s = FTPSession.loggedIn()
        s.pasv()
        guard case .transfer(.listing("LIST", let list))? = s.send("LIST -la").first else {
            Issue.record("LIST")
            return
        }
        #expect(
            String(decoding: list, as: UTF8.self)
                == "-r--r--r--    1 ftp      ftp           1000000 Nov 14  2023 centos-7.qcow2\r\n")
        s.pasv()
        #expect(s.send("NLST") == [.transfer(.listing(verb: "NLST", bytes: Array("centos-7.qcow2\r\n".utf8)))])
        s.pasv()
        #expect(
            s.send("MLSD /") == [
                .transfer(
                    .listing(
                        verb: "MLSD",
                        bytes: Array(
                            "type=file;size=1000000;modify=20231114221320;perm=r; centos-7.qcow2\r\n".utf8)))
            ])
        #expect(s.codes("MLSD centos-7.qcow2") == [501])
        #expect(s.codes("LIST /etc") == [550])
        #expect(
            replies(s.send("MLST centos-7.qcow2"))[0].lines
                == [
                    "Listing centos-7.qcow2", " type=file;size=1000000;modify=20231114221320;perm=r; /centos-7.qcow2",
                    "End",
                ])
        #expect(s.codes("MLST /") == [250])
        #expect(s.codes("MLST /etc/passwd") == [550])
    }

    @Test func revokedGrantStopsTransfers() {
        var s = FTPSession.loggedIn(policy: FakePolicy(valid: false))
        s.pasv()
        #expect(s.codes("RETR centos-7.qcow2") == [530])
    }

    @Test func errorMapping() {
        for code in GateError.Code.allCases {
            let r = FTPReply.from(GateError(code, "x"))
            #expect((400..<600).contains(r.code))
            #expect(!r.lines[0].contains("x."))
        }
        #expect(FTPReply.from(.notFound("/secret/path")).code == 550)
        #expect(FTPReply.from(.io("disk")).code == 451)
    }

    @Test func passiveReplies() {
        #expect(
            FTPReply.passive(ip: [127, 0, 0, 1], port: 50001).lines[0] == "Entering Passive Mode (127,0,0,1,195,81).")
        #expect(FTPReply.extendedPassive(port: 50001).lines[0] == "Entering Extended Passive Mode (|||50001|)")
    }
}
