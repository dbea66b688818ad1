//===----------------------------------------------------------------------===//
// ImageGate: self-signed certificates, contexts and a real handshake with openssl s_client.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GateCore
import SystemIO
import Testing
@testable import TLSSupport

@Suite(.serialized) struct CertificatesTests {
    static func tempDir() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func run(_ args: [String], stdin: String = "") throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe()
        let inp = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = inp
        try p.run()
        inp.fileHandleForWriting.write(Data(stdin.utf8))
        try inp.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func selfSignedCertificateIsUsableAndPrivate() throws {
        let dir = Self.tempDir()
        let (cert, key) = try Certificates.ensureSelfSigned(directory: dir)
        var st = stat()
        #expect(stat(key, &st) == 0 && st.st_mode & 0o777 == 0o600)
        let (rc, text) = try Self.run(["openssl", "x509", "-in", cert, "-noout", "-text", "-fingerprint", "-sha256"])
        #expect(rc == 0)
        #expect(text.contains("DNS:localhost") && text.contains("IP Address:127.0.0.1"))
        let ctx = try TLSContext.server(certificateChain: cert, privateKey: key)
        #expect(
            text.contains("sha256 Fingerprint=" + ctx.fingerprint)
                || text.contains("SHA256 Fingerprint=" + ctx.fingerprint))
        // A second call keeps the existing pair.
        let again = try Certificates.ensureSelfSigned(directory: dir)
        #expect(
            try TLSContext.server(certificateChain: again.certificate, privateKey: again.key).fingerprint
                == ctx.fingerprint)
    }

    @Test func mismatchedKeyIsRefused() throws {
        let a = try Certificates.ensureSelfSigned(directory: Self.tempDir())
        let b = try Certificates.ensureSelfSigned(directory: Self.tempDir())
        #expect(throws: GateError.self) {
            _ = try TLSContext.server(certificateChain: a.certificate, privateKey: b.key)
        }
    }

    /// A blocking server handshake against `openssl s_client`: TLS 1.3 and 1.2 succeed, 1.1 is refused.
    @Test(arguments: [("-tls1_3", true), ("-tls1_2", true), ("-tls1_1", false)])
    func handshakeVersions(flag: String, succeeds: Bool) throws {
        let (cert, key) = try Certificates.ensureSelfSigned(directory: Self.tempDir())
        let ctx = try TLSContext.server(certificateChain: cert, privateKey: key)
        let listener = try Socket.listen(ListenAddress(host: "127.0.0.1", port: 0))
        defer { Sys.close(listener) }
        let port = Socket.localPort(listener)
        let result = Mutex<String>("")
        let server = OSThread.spawn(name: "tls-test") {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 10_000) == 1, case .processed(let (fd, _))? = try? Socket.accept(listener) else {
                result.withLock { $0 = "no connection" }
                return
            }
            defer { Sys.close(fd) }
            // Blocking use: make the accepted socket blocking again.
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            guard let s = try? TLSSession(context: ctx, fd: fd) else { return }
            let hs = s.handshake()
            guard hs == .ok else {
                result.withLock { $0 = "handshake: \(hs)" }
                return
            }
            var buf = [UInt8](repeating: 0, count: 64)
            let (n, _) = buf.withUnsafeMutableBytes { s.read(into: $0) }
            let reply = Array("echo:".utf8) + buf[0..<n]
            _ = reply.withUnsafeBytes { s.write($0) }
            s.shutdown()
            result.withLock { $0 = "ok \(s.protocolVersion)" }
        }
        let (rc, out) = try Self.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:\(port)", flag, "-quiet", "-ign_eof"], stdin: "ping\n")
        server.join()
        if succeeds {
            #expect(out.contains("echo:ping"), "\(out)")
            #expect(result.withLock { $0 }.hasPrefix("ok TLSv1."))
            _ = rc
        } else {
            #expect(!out.contains("echo:ping"))
            #expect(result.withLock { $0 }.hasPrefix("handshake: failed"))
        }
    }
}

import Synchronization
