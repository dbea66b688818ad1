//===----------------------------------------------------------------------===//
// ImageGate: libcurl result codes → FetchFailure codes, and which ones a resume may cure.
//===----------------------------------------------------------------------===//

import CCurl

enum CurlErrors {
    /// The connection dropped or stalled after it was established: resuming may succeed (curl docs
    /// libcurl-errors: PARTIAL_FILE 18, SEND/RECV_ERROR 55/56, GOT_NOTHING 52, HTTP2 16/92, timeouts 28).
    /// COULDNT_CONNECT counts as transient only after a response was seen (URLFetch decides that): a source
    /// restarted mid-transfer refuses connections for a moment.
    static let transient: Set<UInt32> = [
        CURLE_PARTIAL_FILE, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_HTTP2, CURLE_HTTP2_STREAM,
        CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT, CURLE_FTP_ACCEPT_TIMEOUT, CURLE_FTP_CANT_GET_HOST,
    ].map { $0.rawValue }.reduce(into: []) { $0.insert($1) }

    static let tls: Set<UInt32> = [
        CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
        CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_USE_SSL_FAILED,
        CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
        CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT,
    ].map { $0.rawValue }.reduce(into: []) { $0.insert($1) }

    static let ftp: Set<UInt32> = [
        CURLE_WEIRD_SERVER_REPLY, CURLE_REMOTE_ACCESS_DENIED, CURLE_FTP_WEIRD_PASS_REPLY,
        CURLE_FTP_WEIRD_PASV_REPLY, CURLE_FTP_WEIRD_227_FORMAT, CURLE_FTP_COULDNT_SET_TYPE,
        CURLE_FTP_COULDNT_RETR_FILE, CURLE_QUOTE_ERROR, CURLE_FTP_PORT_FAILED, CURLE_FTP_COULDNT_USE_REST,
        CURLE_LOGIN_DENIED, CURLE_REMOTE_FILE_NOT_FOUND, CURLE_FTP_PRET_FAILED, CURLE_FTP_BAD_FILE_LIST,
    ].map { $0.rawValue }.reduce(into: []) { $0.insert($1) }

    /// `message` is already scrubbed and names the redacted URL.
    static func map(_ rc: CURLcode, message: String) -> AttemptOutcome {
        let code = rc.rawValue
        func fail(_ c: String, transient: Bool = false) -> AttemptOutcome {
            .failed(FetchFailure(code: c, message: message), transient: transient)
        }
        switch rc {
        case CURLE_OPERATION_TIMEDOUT: return fail("timeout", transient: true)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST: return fail("connect_failed", transient: true)
        case CURLE_ABORTED_BY_CALLBACK: return fail("cancelled")
        case CURLE_UNSUPPORTED_PROTOCOL: return fail("scheme_not_allowed")
        case CURLE_URL_MALFORMAT: return fail("bad_url")
        case CURLE_FILESIZE_EXCEEDED: return fail("too_large")
        case CURLE_BAD_DOWNLOAD_RESUME: return fail("source_changed")
        default: break
        }
        if tls.contains(code) { return fail("tls_error") }
        if ftp.contains(code) { return fail("ftp_error") }
        if transient.contains(code) { return fail("transfer_failed", transient: true) }
        return fail("transfer_failed")
    }
}
