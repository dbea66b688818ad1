//===----------------------------------------------------------------------===//
// ImageGate: a server TLS configuration: TLS 1.2 and 1.3 only, modern suites, one certificate.
//===----------------------------------------------------------------------===//
import COpenSSL
import GateCore

/// An OpenSSL `SSL_CTX` configured for serving. Thread-safe once configured (OpenSSL's guarantee for
/// contexts that are no longer mutated), hence `@unchecked Sendable`; a reload builds a new context.
public final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    /// SHA-256 of the certificate (DER), `AB:CD:…`, as browsers and `openssl x509 -fingerprint` show it.
    public let fingerprint: String
    public let certificatePath: String

    /// TLS 1.2 suites: ECDHE with AEAD only (Mozilla "intermediate"); TLS 1.3 keeps OpenSSL's defaults
    /// (AES-GCM and ChaCha20-Poly1305).
    static let tls12Ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// Sessions the server keeps for resumption. With `SSL_OP_NO_TICKET` every TLS 1.3 handshake stores its
    /// sessions here (two per full handshake); OpenSSL's defaults, 20,480 sessions kept for 2 hours, let a busy
    /// server's heap grow for two hours (Docs/testing.md, "Memory under a mixed load"). A full cache evicts the
    /// oldest session: a client that comes back later does a full handshake, which is all a resumption saves;
    /// an FTPS data connection resumes a session made moments before (resumption is logged, not required:
    /// Docs/ftp.md).
    static let sessionCacheSize = 1024
    static let sessionTimeoutSeconds = 300

    /// Loads a PEM certificate chain and its private key and checks that they belong together.
    public static func server(certificateChain: String, privateKey: String) throws(GateError) -> TLSContext {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw OpenSSLError.gate("SSL_CTX_new") }
        func fail(_ what: String) -> GateError {
            SSL_CTX_free(ctx)
            return OpenSSLError.gate(what)
        }
        guard COpenSSL_CTX_set_min_proto_version(ctx, COpenSSL_TLS1_2_VERSION()) == 1,
            COpenSSL_CTX_set_max_proto_version(ctx, COpenSSL_TLS1_3_VERSION()) == 1
        else { throw fail("setting TLS versions") }
        COpenSSL_CTX_set_server_options(ctx)
        COpenSSL_CTX_set_nonblocking_modes(ctx)
        guard SSL_CTX_set_cipher_list(ctx, tls12Ciphers) == 1 else { throw fail("setting cipher list") }
        // A session id context lets FTPS data connections resume the control connection's session.
        let sid: [UInt8] = Array("imagegate".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, sid, UInt32(sid.count))
        _ = COpenSSL_CTX_sess_set_cache_size(ctx, sessionCacheSize)
        _ = SSL_CTX_set_timeout(ctx, sessionTimeoutSeconds)
        guard SSL_CTX_use_certificate_chain_file(ctx, certificateChain) == 1 else {
            throw fail("loading certificate \(certificateChain)")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, privateKey, SSL_FILETYPE_PEM) == 1 else {
            throw fail("loading private key \(privateKey)")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else { throw fail("certificate and private key do not match") }
        guard let cert = SSL_CTX_get0_certificate(ctx) else { throw fail("no certificate") }
        return TLSContext(ctx: ctx, fingerprint: Certificates.fingerprint(cert), certificatePath: certificateChain)
    }

    private init(ctx: OpaquePointer, fingerprint: String, certificatePath: String) {
        self.ctx = ctx
        self.fingerprint = fingerprint
        self.certificatePath = certificatePath
    }

    deinit { SSL_CTX_free(ctx) }

    /// Sessions in the server session cache now (`SSL_CTX_sess_number`).
    var cachedSessions: Int { COpenSSL_CTX_sess_number(ctx) }

    /// How long a cached session may be resumed (`SSL_CTX_get_timeout`).
    var sessionTimeout: Int { SSL_CTX_get_timeout(ctx) }
}

/// OpenSSL's error queue turned into a message (per thread; drained here).
enum OpenSSLError {
    static func drain() -> String {
        var parts: [String] = []
        while true {
            let e = ERR_get_error()
            if e == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buf, buf.count)
            parts.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.joined(separator: "; ")
    }

    static func gate(_ what: String) -> GateError {
        let detail = drain()
        return GateError.io(detail.isEmpty ? "TLS: \(what) failed" : "TLS: \(what) failed: \(detail)")
    }
}
