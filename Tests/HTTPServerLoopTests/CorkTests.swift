//===----------------------------------------------------------------------===//
// ImageGate: when a response head waits for its body in the kernel (MSG_MORE) and when it leaves on its own.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
@testable import HTTPServer
import SystemIO
import Testing
import TestSupport

@Suite struct CorkTests {
    /// Records what the writer asks of the transport; accepts everything at once.
    final class RecordingTransport: Transport {
        var sends: [(count: Int, followedBy: UInt64)] = []
        var fileBytes = 0
        func prepare() -> TransportResult { .done(0) }
        func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult { .wouldBlock(needs: .readable) }
        func send(_ buffer: UnsafeRawBufferPointer, followedBy: UInt64) -> TransportResult {
            sends.append((buffer.count, followedBy))
            return .done(buffer.count)
        }
        func sendFile(_ file: Int32, offset: UInt64, count: Int) -> TransportResult {
            fileBytes += count
            return .done(count)
        }
        func shutdownWrite(fd: Int32) {}
        var hasBufferedInput: Bool { false }
    }

    static func write(_ pieces: [BodyPiece], fileSize: Int) throws -> RecordingTransport {
        let dir = try TemporaryDirectory(prefix: "cork")
        let path = try dir.write("blob", [UInt8](repeating: 7, count: fileSize))
        var job = WriteJob(
            head: Array("HTTP/1.1 206 x\r\n\r\n".utf8), pieces: pieces, file: try PathBlobReader(path: path))
        let t = RecordingTransport()
        let progress = job.advance(t, budget: 1 << 21) { { _ in } }
        guard case .finished = progress else { throw TestFailure("write did not finish: \(progress)") }
        return t
    }

    @Test("the writer tells the transport how many body bytes follow the head and each literal piece")
    func followedBy() throws {
        let range = try Self.write([.file(offset: 10, length: 65536)], fileSize: 1 << 17)
        #expect(range.sends.map(\.followedBy) == [65536])
        #expect(range.fileBytes == 65536)
        let small = try Self.write([.file(offset: 0, length: 128)], fileSize: 4096)
        #expect(small.sends.map(\.followedBy) == [128])
        // Multipart: boundary bytes, a file range, the closing boundary.
        let parts = try Self.write(
            [.bytes([1, 2, 3]), .file(offset: 0, length: 100), .bytes([4, 5])], fileSize: 4096)
        #expect(parts.sends.map(\.followedBy) == [105, 102, 0])
        #expect(parts.sends.map(\.count) == [18, 3, 2])
    }

    @Test("plain TCP joins a head to a small body only (MSG_MORE up to corkLimit)")
    func corkDecision() {
        #expect(!PlainTransport.corks(followedBy: 0))
        #expect(PlainTransport.corks(followedBy: 128))
        #expect(PlainTransport.corks(followedBy: PlainTransport.corkLimit))
        #expect(!PlainTransport.corks(followedBy: PlainTransport.corkLimit + 1))
        #expect(!PlainTransport.corks(followedBy: 65536))
    }

    @Test("a head in front of a large body leaves at once: nothing of it waits unsent in the socket")
    func largeBodyHeadNotCorked() throws {
        let listener = try Socket.listen(ListenAddress(host: "127.0.0.1", port: 0))
        defer { close(listener) }
        let client = try ClientSocket.connect(port: Socket.localPort(listener))
        var server: Int32 = -1
        for _ in 0..<1000 {
            if case .processed(let (fd, _)) = try Socket.accept(listener) {
                server = fd
                break
            }
            usleep(1000)
        }
        #expect(server >= 0)
        guard server >= 0 else { return }
        defer { close(server) }
        Socket.setNoDelay(server)
        let transport = PlainTransport(fd: server)
        let head = [UInt8](repeating: 0x41, count: 300)
        let r = head.withUnsafeBytes { transport.send($0, followedBy: 65536) }
        guard case .done(300) = r else {
            Issue.record("send: \(r)")
            return
        }
        // SIOCOUTQNSD: bytes queued but not yet sent. A head sent with MSG_MORE stays here until the body
        // joins it (or the kernel's cork timer fires); sent on its own, it is on the wire already.
        var unsent: Int32 = -1
        #expect(ioctl(server, 0x894B, &unsent) == 0)
        #expect(unsent == 0)
        #expect(try client.waitReadable())
        #expect(client.queuedInbound == 300)
    }
}
