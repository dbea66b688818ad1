//===----------------------------------------------------------------------===//
// ImageGate: RETR of a blob whose store fails (an object store's cold slice): 451, before 150 or mid-transfer.
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

@Suite(.serialized) struct FTPStoreFailureTests {
    static func listener(_ bytes: [UInt8], failFrom: UInt64) throws -> FTPListener {
        signal(SIGPIPE, SIG_IGN)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ftp-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        var file = ServedFile.fixture(name: "disk.img", path: path, size: UInt64(bytes.count), modified: 1_700_000_000)
        file.open = { () throws(GateError) -> any BlobReader in
            do { return try FailingStoreReader(path: path, failFrom: failFrom) } catch { throw .io("open") }
        }
        var config = FTPConfig()
        config.allowPlain = true
        config.loginFailureDelayMs = 10
        return try FTPListener.start(
            address: ListenAddress(host: "127.0.0.1", port: 0), config: config, tls: TLSContext?.none,
            policy: FakePolicy(file: file), accessLog: nil, logger: Logger(minimum: .error))
    }

    static func login(_ port: UInt16) throws -> TestClient {
        let c = try TestClient(port: port)
        #expect(c.line().hasPrefix("220 "))
        #expect(c.cmd("USER x").hasPrefix("331 "))
        #expect(c.cmd("PASS " + goodToken).hasPrefix("230 "))
        #expect(c.cmd("TYPE I").hasPrefix("200 "))
        return c
    }

    @Test("the store is down before the first byte: 451 instead of 150, and the session goes on")
    func downBeforeFirstByte() throws {
        let l = try Self.listener(Array(repeating: 7, count: 1000), failFrom: 0)
        defer { l.stop() }
        let c = try Self.login(l.port)
        _ = c.cmd("EPSV")
        let reply = c.cmd("RETR disk.img")
        #expect(reply.hasPrefix("451 ") && reply.contains("try again"))
        #expect(c.cmd("NOOP").hasPrefix("200 "))
    }

    @Test("the store fails mid-transfer: the data connection ends short and the reply is 451")
    func downMidTransfer() throws {
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let l = try Self.listener(bytes, failFrom: 100_000)
        defer { l.stop() }
        let c = try Self.login(l.port)
        let port = FTPListenerTests.epsvPort(c.cmd("EPSV"))
        #expect(c.cmd("RETR disk.img").hasPrefix("150 "))
        let got = TestClient.readAll(port: port)
        #expect(got == Array(bytes[0..<100_000]))
        #expect(c.line().hasPrefix("451 "))
    }
}
