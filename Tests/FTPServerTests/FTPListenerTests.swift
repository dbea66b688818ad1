//===----------------------------------------------------------------------===//
// ImageGate: the FTP listener on a real loopback socket: login, EPSV, REST + RETR, caps, stop.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FTPServer
import GateCore
import SystemIO
import TLSSupport
import Testing
import TestSupport

/// A blocking test client on one control connection.
final class TestClient {
    let fd: Int32
    var buffer: [UInt8] = []

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard Self.connect(fd, port) else { throw GateError.io("connect") }
    }

    static func connect(_ fd: Int32, _ port: UInt16) -> Bool {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    deinit { close(fd) }

    /// One reply line ("" when the server closed).
    func line() -> String {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let l = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return l.hasSuffix("\r") ? String(l.dropLast()) : l
            }
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return "" }
            buffer += chunk[0..<n]
        }
    }

    func cmd(_ text: String) -> String {
        _ = Array((text + "\r\n").utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return line()
    }

    /// Opens the data connection to an EPSV port and reads it to the end.
    static func readAll(port: UInt16) -> [UInt8] {
        let d = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(d) }
        guard connect(d, port) else { return [] }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(d, &chunk, chunk.count, 0)
            if n <= 0 { return out }
            out += chunk[0..<n]
        }
    }
}

@Suite(.serialized) struct FTPListenerTests {
    static func fixture(_ bytes: [UInt8], maxPerPeer: Int = 32) throws -> (FTPListener, ServedFile) {
        signal(SIGPIPE, SIG_IGN)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ftp-\(UUID().uuidString)").path
        precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot create a test file")
        let file = ServedFile.fixture(
            name: "disk.img", path: path, size: UInt64(bytes.count), modified: 1_700_000_000,
            logID: "igt1.?…")
        var config = FTPConfig()
        config.allowPlain = true
        config.maxSessionsPerPeer = maxPerPeer
        config.loginFailureDelayMs = 10
        let listener = try FTPListener.start(
            address: ListenAddress(host: "127.0.0.1", port: 0), config: config, tls: TLSContext?.none,
            policy: FakePolicy(file: file), accessLog: nil, logger: Logger(minimum: .error))
        return (listener, file)
    }

    static func epsvPort(_ reply: String) -> UInt16 {
        UInt16(reply.split(separator: "|").dropLast().last.map(String.init) ?? "") ?? 0
    }

    @Test func loginRestRetrAndEmptyRetrAtSize() throws {
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let (listener, _) = try Self.fixture(bytes)
        defer { listener.stop() }
        let c = try TestClient(port: listener.port)
        #expect(c.line().hasPrefix("220 "))
        #expect(c.cmd("USER x").hasPrefix("331 "))
        #expect(c.cmd("PASS " + goodToken).hasPrefix("230 "))
        #expect(c.cmd("TYPE I").hasPrefix("200 "))
        #expect(c.cmd("SIZE disk.img") == "213 300000")
        #expect(c.cmd("REST 123456").hasPrefix("350 "))
        var port = Self.epsvPort(c.cmd("EPSV"))
        #expect(c.cmd("RETR disk.img").hasPrefix("150 "))
        #expect(TestClient.readAll(port: port) == Array(bytes[123_456...]))
        #expect(c.line().hasPrefix("226 "))
        #expect(c.cmd("REST 300000").hasPrefix("350 "))
        port = Self.epsvPort(c.cmd("EPSV"))
        #expect(c.cmd("RETR /disk.img").hasPrefix("150 "))
        #expect(TestClient.readAll(port: port).isEmpty)
        #expect(c.line().hasPrefix("226 "))
        #expect(c.cmd("QUIT").hasPrefix("221 "))
    }

    @Test func sessionCapPerPeerAndStopCutsSessions() throws {
        let (listener, _) = try Self.fixture([1, 2, 3], maxPerPeer: 1)
        let a = try TestClient(port: listener.port)
        #expect(a.line().hasPrefix("220 "))
        let b = try TestClient(port: listener.port)
        #expect(b.line().hasPrefix("421 "))
        let t0 = Monotonic.milliseconds()
        listener.stop()
        #expect(Monotonic.milliseconds() - t0 < 3000)
        #expect(a.line() == "")  // cut
    }
}
