//===----------------------------------------------------------------------===//
// ImageGate: the server session cache stays bounded, and a session still resumes (FTPS data connections).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import Foundation
import GateCore
import SystemIO
import Testing
@testable import TLSSupport

@Suite(.serialized) struct SessionCacheTests {
    /// A TLS client on one end of a socket pair (certificate not checked: the test's own self-signed one).
    final class Client {
        let ctx: OpaquePointer

        init() {
            ctx = SSL_CTX_new(TLS_client_method())!
            _ = COpenSSL_CTX_set_min_proto_version(ctx, COpenSSL_TLS1_3_VERSION())
        }

        deinit { SSL_CTX_free(ctx) }

        /// Handshakes, reads the server's one byte (which also takes in its session tickets) and returns the
        /// session to resume with; `resume` offers an earlier one.
        func connect(fd: Int32, resume: OpaquePointer? = nil) -> OpaquePointer? {
            let ssl = SSL_new(ctx)!
            defer { SSL_free(ssl) }
            _ = SSL_set_fd(ssl, fd)
            if let resume { _ = SSL_set_session(ssl, resume) }
            guard SSL_connect(ssl) == 1 else { return nil }
            var byte: UInt8 = 0
            guard SSL_read(ssl, &byte, 1) == 1 else { return nil }
            let session = SSL_get1_session(ssl)
            _ = SSL_shutdown(ssl)
            return session
        }
    }

    /// One connection: the server handshakes on its own thread and sends a byte. Returns the client's session
    /// (nil when the handshake failed) and whether the server side resumed.
    static func connection(_ context: TLSContext, _ client: Client, resume: OpaquePointer? = nil)
        -> (session: OpaquePointer?, resumed: Bool)
    {
        // Either side may write its close_notify after the other closed its end (the server ignores SIGPIPE too).
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let resumed = Mutex(false)
        let server = OSThread.spawn(name: "tls-cache-test") { [fds] in
            defer { Sys.close(fds[0]) }
            guard let s = try? TLSSession(context: context, fd: fds[0]), s.handshake() == .ok else { return }
            resumed.withLock { $0 = s.sessionReused }
            var byte: UInt8 = 1
            _ = withUnsafeBytes(of: &byte) { s.write($0) }
            s.shutdown()
        }
        let session = client.connect(fd: fds[1], resume: resume)
        Sys.close(fds[1])
        server.join()
        return (session, resumed.withLock { $0 })
    }

    /// `SSL_OP_NO_TICKET` keeps TLS 1.3 sessions in the server's cache (two per full handshake); OpenSSL's
    /// defaults, 20,480 sessions for 2 hours each, let a busy server's memory grow for two hours. More handshakes
    /// than the bound allows leave at most `sessionCacheSize` sessions, and as a full cache evicts the oldest,
    /// a session just made still resumes: what an FTPS data connection does with its control connection's
    /// session (Docs/ftp.md).
    @Test func sessionCacheStaysWithinItsBoundAndAFreshSessionResumes() throws {
        let (cert, key) = try Certificates.ensureSelfSigned(directory: CertificatesTests.tempDir())
        let context = try TLSContext.server(certificateChain: cert, privateKey: key)
        let client = Client()
        var failed = 0
        for _ in 0..<(TLSContext.sessionCacheSize / 2 + 100) {
            let (session, _) = Self.connection(context, client)
            if session == nil { failed += 1 }
            SSL_SESSION_free(session)
        }
        #expect(failed == 0)
        #expect(context.sessionTimeout == TLSContext.sessionTimeoutSeconds)
        #expect(context.cachedSessions > TLSContext.sessionCacheSize / 2)
        #expect(context.cachedSessions <= TLSContext.sessionCacheSize, "\(context.cachedSessions) sessions")

        let (control, resumedFirst) = Self.connection(context, client)
        #expect(control != nil && !resumedFirst)
        let (data, resumed) = Self.connection(context, client, resume: control)
        #expect(resumed)
        SSL_SESSION_free(control)
        SSL_SESSION_free(data)
    }
}

import Synchronization
