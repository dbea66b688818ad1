//===----------------------------------------------------------------------===//
// ImageGate: node.id, sftp.public_host and ftp.public_host: what they accept and what links and 227 get.
//===----------------------------------------------------------------------===//
import GateCore
@testable import ImageGateApp
import Testing

@Suite struct PublicHostTests {
    @Test func formsAndAddresses() throws {
        let name = try #require(PublicHost("images.example.net"))
        #expect(name.port == nil && name.address(listenerPort: 2121) == "images.example.net:2121")
        let withPort = try #require(PublicHost("203.0.113.7:21"))
        #expect(withPort.address(listenerPort: 2121) == "203.0.113.7:21")
        #expect(withPort.ipv4() == [203, 0, 113, 7])
        let v6 = try #require(PublicHost("[2001:db8::1]:22"))
        #expect(v6.host == "2001:db8::1" && v6.address(listenerPort: 2222) == "[2001:db8::1]:22")
        #expect(v6.ipv4() == nil)
        for bad in ["", "2001:db8::1", "host:0", "host:99999", "a b", "[::1", "[::1]x", "h:1:2"] {
            #expect(PublicHost(bad) == nil, "\(bad)")
        }
    }

    @Test func settings() throws {
        var s = Settings()
        try s.apply(
            configText: "node.id = node-7\nftp.public_host = 198.51.100.2\nsftp.public_host = sftp.example.net:22\n",
            source: "t")
        #expect(s.effectiveNodeID == "node-7")
        #expect(s.ftp.publicHost?.ipv4() == [198, 51, 100, 2])
        #expect(s.sftpPublicHost?.address(listenerPort: 2222) == "sftp.example.net:22")
        // Links name the public host instead of the listener.
        #expect(FTPLinks.address(s)?.hasPrefix("198.51.100.2:") == true)
        #expect(SFTPLinks.address(s) == "sftp.example.net:22")
        #expect(Settings().effectiveNodeID == Settings().effectiveNodeID && !Settings().effectiveNodeID.isEmpty)
        for bad in [
            "node.id = a/b", "node.id = \(String(repeating: "x", count: 65))", "ftp.public_host = a b",
            "sftp.public_host = ::1",
        ] {
            var t = Settings()
            #expect(throws: GateError.self) { try t.apply(configText: bad, source: "t") }
        }
    }
}
