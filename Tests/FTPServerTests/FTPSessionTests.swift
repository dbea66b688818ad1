//===----------------------------------------------------------------------===//
// ImageGate: the FTP state machine, command by command (Docs/protocols.md §6.1, §6.4).
//===----------------------------------------------------------------------===//
import FTPServer
import GateCore
import Testing

@Suite struct FTPLoginTests {
    @Test(
        "commands before login are refused with 530",
        arguments: [
            "PWD", "CWD /", "SIZE centos-7.qcow2", "MDTM centos-7.qcow2", "RETR centos-7.qcow2", "LIST", "NLST", "MLSD",
            "MLST", "PASV", "EPSV", "REST 0", "TYPE I", "PORT 10,0,0,5,0,22", "STOR x", "DELE x", "STAT",
        ])
    func refusedBeforeLogin(line: String) {
        var s = FTPSession.make()
        #expect(replies(s.send(line)) == [FTPReply(530, "Please login with USER and PASS.")])
    }

    @Test(
        "allowed before login",
        arguments: [
            ("FEAT", 211), ("SYST", 215), ("NOOP", 200), ("OPTS UTF8 ON", 200),
            ("HELP", 214), ("QUIT", 221), ("ABOR", 225),
        ])
    func allowedBeforeLogin(line: String, code: Int) {
        var s = FTPSession.make()
        #expect(s.codes(line) == [code])
    }

    @Test func userAndPassBeforeAuthTLSAre530() {
        var s = FTPSession.make()
        #expect(s.codes("USER x") == [530])
        #expect(s.codes("PASS " + goodToken) == [530])
        #expect(!s.loggedIn)
        #expect(replies(s.send("PASS " + goodToken))[0].lines[0].contains("AUTH TLS"))
    }

    @Test func explicitTLSLogin() {
        var s = FTPSession.make()
        #expect(s.codes("PBSZ 0") == [503])
        #expect(s.codes("PROT P") == [503])
        #expect(s.send("AUTH TLS") == [.reply(FTPReply(234, "AUTH TLS successful.")), .startTLS])
        s.tlsEstablished()
        #expect(s.codes("AUTH TLS") == [503])
        #expect(s.codes("PROT P") == [503])  // PBSZ must come first (RFC 4217 §8)
        #expect(s.codes("PBSZ 0") == [200])
        #expect(s.codes("PROT C") == [534])
        #expect(s.codes("PROT S") == [536])
        #expect(s.codes("PROT P") == [200])
        #expect(s.codes("PASS " + goodToken) == [503])  // USER first
        #expect(s.codes("USER image") == [331])
        let e = s.send("PASS " + goodToken)
        #expect(e.first == .loggedIn(testFile))
        #expect(replies(e).map(\.code) == [230])
        #expect(s.loggedIn)
        #expect(s.codes("USER again") == [503])
    }

    @Test func authSSLIsAcceptedAsCurlSendsItFirst() {
        var s = FTPSession.make()
        #expect(s.send("AUTH SSL") == [.reply(FTPReply(234, "AUTH SSL successful.")), .startTLS])
        var t = FTPSession.make()
        #expect(t.codes("AUTH KERBEROS_V4") == [504])
    }

    @Test func plainLoginWhenAllowed() {
        var s = FTPSession.make(allowPlain: true)
        #expect(s.codes("USER x") == [331])
        #expect(s.codes("PASS " + goodToken) == [230])
        #expect(s.codes("PASV") == [])  // the connection opens the listener and answers 227
        #expect(s.send("RETR centos-7.qcow2") == [.transfer(.file(testFile, offset: 0))])
    }

    @Test func failedLoginsAreUniformAndCloseAfterThree() {
        var s = FTPSession.make(allowPlain: true)
        for i in 1...3 {
            _ = s.send("USER x")
            let e = s.send("PASS igt1.wrong")
            #expect(e.first == .loginFailed(reason: "token_malformed", tokenLabel: "<redacted>"))
            #expect(replies(e).first == FTPReply(530, "Login incorrect."))
            #expect(e.contains(.close) == (i == 3))
        }
        #expect(!s.loggedIn)
    }

    @Test func passIsRedactedInLogs() {
        let c = FTPCommand.parse(Array("PASS igt1.secret.token".utf8))!
        #expect(!c.loggable.contains("secret"))
        #expect(c.loggable == "PASS <17 bytes redacted>")
    }

    @Test func featListsWhatIsImplemented() {
        var s = FTPSession.make()
        let r = replies(s.send("FEAT"))[0]
        #expect(r.code == 211)
        #expect(
            r.lines == [
                "Features:", " AUTH TLS", " PBSZ", " PROT", " SIZE", " MDTM", " REST STREAM", " EPSV",
                " PASV", " MLST type*;size*;modify*;perm*;", " UTF8", "End",
            ])
        #expect(String(decoding: r.wire, as: UTF8.self).hasPrefix("211-Features:\r\n AUTH TLS\r\n"))
        #expect(String(decoding: r.wire, as: UTF8.self).hasSuffix(" UTF8\r\n211 End\r\n"))
    }

    @Test func telnetInterruptBeforeAborIsIgnored() {
        // lftp: IAC IP, IAC (DM sent urgent, absent from the stream), then ABOR.
        let c = FTPCommand.parse([0xFF, 0xF4, 0xFF] + Array("ABOR".utf8))
        #expect(c == FTPCommand(verb: "ABOR"))
        #expect(FTPCommand.parse([0xFF, 0xF4, 0xFF, 0xF2] + Array("abor".utf8)) == FTPCommand(verb: "ABOR"))
    }

    @Test("garbage lines are 500", arguments: ["", "   ", "12345", "ÄBC", "TOOLONGVERB x", "RETR\u{0}x"])
    func garbage(line: String) {
        var s = FTPSession.make()
        #expect(s.codes(line) == [500])
    }

    @Test func overlongLineClosesWith500() {
        let s = FTPSession.make()
        #expect(s.overlongLine() == [.reply(FTPReply(500, "Command line too long.")), .close])
    }
}
