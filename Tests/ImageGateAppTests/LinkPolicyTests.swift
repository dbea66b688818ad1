//===----------------------------------------------------------------------===//
// ImageGate: the link policy (what a token may do) and the certificate-pinning download commands.
//===----------------------------------------------------------------------===//
import DownloadTokens
import Foundation
import GateCore
@testable import ImageGateApp
import Testing

@Suite struct LinkPolicyTests {
    @Test("the policy's protocol bits follow the settings it was computed from")
    func protocolsFromSettings() throws {
        var s = Settings()
        s.dataDir = "/nonexistent/gate"
        try s.apply(configText: "http.plain_links = false\nftp.allow_plain = true", source: "t")
        let p = LinkPolicy.of(s)
        #expect(!p.plainHTTP && p.ftp && p.plainFTP)
        #expect(p.protocols == [.http, .sftp, .ftps, .ftpPlain])
        try s.apply(configText: "ftp.listen = off\nhttp.plain_links = true", source: "t")
        #expect(LinkPolicy.of(s).protocols == [.http, .sftp, .httpPlain])
    }

    @Test("the run file carries the policy under snake_case keys and reads it back")
    func runFileRoundTrip() throws {
        var run = RunFile(pid: 1, http: "127.0.0.1:1", https: nil, startedAt: "t")
        run.links = LinkPolicy(plainHTTP: false, ftp: true, plainFTP: false, caSHA256: "ab")
        let data = try JSONEncoder().encode(run)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"plain_http\":false") && text.contains("\"ca_sha256\":\"ab\""))
        #expect(try JSONDecoder().decode(RunFile.self, from: data).links == run.links)
    }

    @Test("the served certificate is the last of a chain, and its digest is of exactly the served bytes")
    func lastCertificateOfChain() throws {
        let chain =
            "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n"
            + "-----BEGIN CERTIFICATE-----\nISSUER\n-----END CERTIFICATE-----\n"
        let ca = try #require(CACertificate.fromChain(chain))
        let issuer = "-----BEGIN CERTIFICATE-----\nISSUER\n-----END CERTIFICATE-----\n"
        #expect(String(decoding: ca.pem, as: UTF8.self) == issuer)
        // sha256sum of that text, as the downloader's `sha256sum -c` computes it.
        #expect(ca.sha256 == "604dd7ea6d2dea23f610e200c139f72c2253439bdcdc3998f1cf9510585f1e28")
        #expect(CACertificate.fromChain("no certificate here") == nil)
    }

    @Test("HTTPS commands pin the fetched certificate, or trust the system CAs for a configured one")
    func httpsCommands() {
        let url = "https://gate.example:8443/d/igt1.x/disk.qcow2"
        let pin = CertificatePin(url: "http://gate.example:8080/ca.crt", sha256: String(repeating: "0f", count: 32))
        let pinned = Dictionary(uniqueKeysWithValues: HTTPSLinks.commands(url: url, pin: pin))
        #expect(
            pinned["https_curl"] == "curl -fsSo imagegate-ca.crt 'http://gate.example:8080/ca.crt' && echo '"
                + pin.sha256 + "  imagegate-ca.crt' | sha256sum -c --quiet && curl -fC - --cacert imagegate-ca.crt -O '"
                + url + "'")
        #expect(pinned["https_wget"]?.hasPrefix("wget -qO imagegate-ca.crt ") == true)
        #expect(pinned.values.allSatisfy { $0.contains("sha256sum -c") })
        let plain = Dictionary(uniqueKeysWithValues: HTTPSLinks.commands(url: url, pin: nil))
        #expect(plain["https_wget"] == "wget -c '\(url)'" && plain.values.allSatisfy { !$0.contains("ca") })
    }
}
