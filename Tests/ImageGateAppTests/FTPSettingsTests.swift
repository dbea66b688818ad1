//===----------------------------------------------------------------------===//
// ImageGate: ftp.* and tls.* settings, and the FTP link form.
//===----------------------------------------------------------------------===//
import DownloadTokens
import GateCore
@testable import ImageGateApp
import Testing
import SystemIO

@Suite struct FTPSettingsTests {
    @Test func defaultsAndValues() throws {
        var s = Settings()
        #expect(s.ftp.listen?.description == "127.0.0.1:2121" && s.ftp.passivePorts == nil && !s.ftp.allowPlain)
        #expect(LinkPolicy.of(s).protocols.intersection([.ftps, .ftpPlain]) == .ftps)
        try s.apply(
            configText: """
                ftp.listen = 0.0.0.0:21
                ftp.passive_ports = 50000-50999
                ftp.allow_plain = true
                tls.certificate = /etc/ssl/gate.pem
                tls.private_key = /etc/ssl/gate.key
                """, source: "t")
        #expect(s.ftp.listen?.port == 21 && s.ftp.passivePorts == 50000...50999 && s.ftp.allowPlain)
        #expect(s.tlsCertificate == "/etc/ssl/gate.pem" && s.tlsPrivateKey == "/etc/ssl/gate.key")
        #expect(LinkPolicy.of(s).protocols.isSuperset(of: [.ftps, .ftpPlain]))
        try s.apply(configText: "ftp.listen = off", source: "t")
        #expect(s.ftp.listen == nil && FTPLinks.address(s) == nil)
        #expect(LinkPolicy.of(s).protocols.intersection([.ftps, .ftpPlain]) == [])
    }

    @Test(
        "mistakes are usage errors",
        arguments: [
            "ftp.listen = nowhere", "ftp.passive_ports = 80-90", "ftp.passive_ports = 50010-50000",
            "ftp.passive_ports = 50000", "ftp.allow_plain = maybe",
        ])
    func refuses(line: String) {
        var s = Settings()
        #expect(throws: GateError.self) { try s.apply(configText: line, source: "f") }
    }

    @Test func linkFormAndCommands() {
        var s = Settings()
        s.dataDir = "/srv/gate"
        let url = FTPLinks.url(address: "127.0.0.1:2121", user: "img-1", token: "igt1.a-b_c.d", fileName: "x.qcow2")
        #expect(url == "ftp://img-1:igt1.a-b_c.d@127.0.0.1:2121/x.qcow2")
        // The self-signed default: every command fetches the served certificate, checks its digest and trusts
        // only that file; no command names a path on the server's disk.
        let pin = CertificatePin(url: "http://127.0.0.1:8080/ca.crt", sha256: String(repeating: "ab", count: 32))
        let c = Dictionary(uniqueKeysWithValues: FTPLinks.commands(url: url, pin: pin))
        let check = "echo '\(pin.sha256)  imagegate-ca.crt' | sha256sum -c --quiet && "
        #expect(
            c["wget"] == "wget -qO imagegate-ca.crt 'http://127.0.0.1:8080/ca.crt' && " + check
                + "wget -c --ca-certificate=imagegate-ca.crt 'ftps://img-1:igt1.a-b_c.d@127.0.0.1:2121/x.qcow2'")
        #expect(c["curl"]?.contains(check + "curl -C - --ssl-reqd -O --cacert imagegate-ca.crt 'ftp://") == true)
        #expect(
            c["lftp"]?.contains(
                "set ssl:ca-file imagegate-ca.crt; set ftp:ssl-force true; "
                    + "set ftp:ssl-protect-data true; get -c ftp://") == true)
        #expect(c.values.allSatisfy { !$0.contains("/srv/gate") && !$0.contains("server.crt") })
        // A configured (publicly issued) certificate: the system's CAs, no fetch step.
        #expect(FTPLinks.commands(url: url, pin: nil).allSatisfy { !$0.1.contains("ca") })
    }
}
