//===----------------------------------------------------------------------===//
// ImageGate: ftp://user:password@host:port imports against pyftpdlib, REST resume, PASV reply distrust.
//===----------------------------------------------------------------------===//

import Foundation
import Testing
import URLFetcher

@Suite(
    .enabled(if: Env.hasPyftpdlib, "python3-pyftpdlib missing: run scripts/install-deps.sh --test"),
    .timeLimit(.minutes(2)))
struct FTPFetchTests {
    static let user = "imguser"
    static let password = "secretpw"

    @Test("clean ftp import with user:password@host:port; MDTM validator; SIZE total")
    func cleanFTP() throws {
        let ftp = try FTPServer(user: Self.user, password: Self.password)
        let source = try ftp.root.makeFile("images/disk.img", count: 1_500_000)
        let url = "ftp://\(Self.user):\(Self.password)@127.0.0.1:\(ftp.port)/images/disk.img"
        let got = Fetch.run(url)
        let r = try #require(got.success, "\(String(describing: got.failure))")
        #expect(Fetch.sha256(got.data) == Fetch.sha256(source))
        #expect(r.totalSize == 1_500_000 && r.bytes == 1_500_000)
        #expect(r.validator?.hasPrefix("mdtm:") == true)
        #expect(r.finalURL == "ftp://\(Self.user):***@127.0.0.1:\(ftp.port)/images/disk.img")
        #expect(URLFetch(url: url, policy: Fetch.loopbackPolicy).redactedURL.contains(Self.password) == false)
    }

    @Test("a percent-encoded password with reserved characters is decoded for USER/PASS")
    func encodedPassword() throws {
        let ftp = try FTPServer(user: "u", password: "p@ss:w/rd")
        let source = try ftp.root.makeFile("a.img", count: 10_000)
        let got = Fetch.run("ftp://u:p%40ss%3Aw%2Frd@127.0.0.1:\(ftp.port)/a.img")
        #expect(got.data == source, "\(String(describing: got.failure))")
    }

    @Test("crash recovery over FTP: REST from the offset, same MDTM/SIZE; a changed size is source_changed")
    func restResume() throws {
        let ftp = try FTPServer(user: Self.user, password: Self.password)
        let source = try ftp.root.makeFile("disk.img", count: 1_000_000)
        let url = "ftp://\(Self.user):\(Self.password)@127.0.0.1:\(ftp.port)/disk.img"
        let first = Fetch.run(url) { $0 < 400_000 }
        #expect(first.failure?.code == "aborted")
        let validator = try #require(Fetch.run(url).success?.validator)
        let head = first.data.prefix(300_000)
        let rest = Fetch.run(url, resumeFrom: 300_000, validator: validator, expectedTotal: 1_000_000)
        #expect(rest.success?.bytes == 700_000, "\(String(describing: rest.failure))")
        #expect(Fetch.sha256(head + rest.data) == Fetch.sha256(source))
        let resized = Fetch.run(url, resumeFrom: 300_000, validator: validator, expectedTotal: 999_999)
        #expect(resized.failure?.code == "source_changed")
        #expect(resized.data.isEmpty)
        let stale = Fetch.run(url, resumeFrom: 300_000, validator: "mdtm:1")
        #expect(stale.failure?.code == "source_changed")
        #expect(stale.data.isEmpty)
    }

    @Test("a PASV reply naming 10.0.0.5 is ignored: the data connection goes to the control IP")
    func pasvReplyNotTrusted() throws {
        let ftp = try FTPServer(user: Self.user, password: Self.password, pasvTrap: true)
        let source = try ftp.root.makeFile("disk.img", count: 200_000)
        // The trap is armed: this server refuses EPSV and its PASV reply names 10.0.0.5.
        let probe = try Env.run(
            Env.python,
            [
                "-c",
                """
                import ftplib, sys
                f = ftplib.FTP(); f.connect('127.0.0.1', \(ftp.port)); f.login('\(Self.user)', '\(Self.password)')
                try:
                    f.sendcmd('EPSV'); print('EPSV accepted')
                except ftplib.error_perm as e:
                    print('EPSV refused')
                print(f.sendcmd('PASV'))
                """,
            ])
        #expect(probe.output.contains("EPSV refused") && probe.output.contains("(10,0,0,5,"), "\(probe.output)")
        let got = Fetch.run("ftp://\(Self.user):\(Self.password)@127.0.0.1:\(ftp.port)/disk.img")
        #expect(got.data == source, "\(String(describing: got.failure))")
    }

    @Test("wrong password, missing file and a directory URL fail without the password in any message")
    func failuresRedacted() throws {
        let ftp = try FTPServer(user: Self.user, password: Self.password)
        try ftp.root.makeFile("disk.img", count: 1000)
        let base = "ftp://\(Self.user):\(Self.password)@127.0.0.1:\(ftp.port)"
        let wrong = Fetch.run("ftp://\(Self.user):wrongpw@127.0.0.1:\(ftp.port)/disk.img")
        #expect(wrong.failure?.code == "ftp_error", "\(String(describing: wrong.failure))")
        #expect(wrong.failure?.message.contains("wrongpw") == false)
        let missing = Fetch.run(base + "/nope.img")
        #expect(missing.failure?.code == "ftp_error", "\(String(describing: missing.failure))")
        #expect(Fetch.run(base + "/").failure?.code == "bad_url")
        for f in [wrong.failure, missing.failure] {
            let message = f?.message ?? ""
            #expect(!message.contains(Self.password) && message.contains("***"), "\(message)")
        }
    }
}
