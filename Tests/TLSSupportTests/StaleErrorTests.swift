//===----------------------------------------------------------------------===//
// ImageGate: an error left on the thread's OpenSSL error queue does not turn a want-read into a failure.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import Foundation
import SystemIO
import Testing
@testable import TLSSupport

@Suite struct StaleErrorTests {
    /// Puts an error on this thread's OpenSSL error queue, as any failed OpenSSL call elsewhere on the thread
    /// would (here: a certificate file that does not exist).
    static func leaveStaleError() throws {
        let ctx = SSL_CTX_new(TLS_server_method())
        defer { SSL_CTX_free(ctx) }
        #expect(SSL_CTX_use_certificate_chain_file(ctx, "/nonexistent/imagegate-test.pem") != 1)
        try #require(ERR_peek_error() != 0)
    }

    /// `TLSSession` clears the queue only when something is on it (issue 17: clearing always costs four times
    /// as much as looking). After the handshake (whose state machine clears the queue itself), a non-blocking
    /// read or a write that finds a stale entry must still report what the socket needs, as with a clean queue.
    /// Without any clearing, `SSL_get_error` reports the stale entry as a failure and this test fails.
    @Test func staleErrorDoesNotFailANonBlockingRead() throws {
        let (cert, key) = try Certificates.ensureSelfSigned(directory: CertificatesTests.tempDir())
        let context = try TLSContext.server(certificateChain: cert, privateKey: key)
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer {
            Sys.close(fds[0])
            Sys.close(fds[1])
        }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let server = try TLSSession(context: context, fd: fds[0])
        let clientCtx = SSL_CTX_new(TLS_client_method())!
        defer { SSL_CTX_free(clientCtx) }
        let client = SSL_new(clientCtx)!
        defer { SSL_free(client) }
        _ = SSL_set_fd(client, fds[1])
        SSL_set_connect_state(client)
        // Both ends in this thread, non-blocking: step each until both finished (a few flights).
        var serverDone = false
        var clientDone = false
        for _ in 0..<100 where !(serverDone && clientDone) {
            if !clientDone { clientDone = SSL_do_handshake(client) == 1 }
            if !serverDone {
                let s = server.handshake()
                try #require(s == .ok || s == .wantRead || s == .wantWrite, "\(s)")
                serverDone = s == .ok
            }
        }
        try #require(serverDone && clientDone)
        var buffer = [UInt8](repeating: 0, count: 64)
        // Nothing sent yet (the client reads no session ticket: it never reads): the read must want more.
        try Self.leaveStaleError()
        let (n, status) = buffer.withUnsafeMutableBytes { server.read(into: $0) }
        #expect(n == 0 && status == .wantRead)
        // And bytes still arrive afterwards.
        try Self.leaveStaleError()
        var hello = Array("hello".utf8)
        #expect(SSL_write(client, &hello, Int32(hello.count)) == 5)
        let (got, ok) = buffer.withUnsafeMutableBytes { server.read(into: $0) }
        #expect(ok == .ok && Array(buffer[0..<got]) == hello)
        ERR_clear_error()
    }
}
