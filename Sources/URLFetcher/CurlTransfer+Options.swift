//===----------------------------------------------------------------------===//
// ImageGate: the libcurl options of an import request, each with the reason it is set.
//===----------------------------------------------------------------------===//

import CCurl

extension CurlTransfer {
    /// Sets every option; nil when all were accepted, else the failure (an option libcurl refuses is a
    /// defence missing, so the request is not made).
    static func configure(
        _ h: UnsafeMutableRawPointer, _ r: Request, userdata: UnsafeMutableRawPointer,
        errorBuffer: UnsafeMutablePointer<CChar>, lists: inout CurlStringLists
    ) -> FetchFailure? {
        var failed: [String] = []
        func long(_ o: CURLoption, _ v: Int, _ name: String) {
            if CCurl_setopt_long(h, o, v) != CURLE_OK { failed.append(name) }
        }
        func string(_ o: CURLoption, _ v: String?, _ name: String) {
            if CCurl_setopt_string(h, o, v) != CURLE_OK { failed.append(name) }
        }
        func check(_ rc: CURLcode, _ name: String) { if rc != CURLE_OK { failed.append(name) } }

        let t = r.target
        let p = r.policy
        string(CURLOPT_URL, t.curlURL, "URL")
        check(CCurl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer), "ERRORBUFFER")
        // Only this hop's scheme: libcurl itself refuses anything else (curl docs CURLOPT_PROTOCOLS_STR).
        string(CURLOPT_PROTOCOLS_STR, t.scheme, "PROTOCOLS_STR")
        string(CURLOPT_REDIR_PROTOCOLS_STR, t.scheme, "REDIR_PROTOCOLS_STR")
        // Redirects are followed by URLFetch, one validated hop at a time (Docs/protocols.md §4.1).
        long(CURLOPT_FOLLOWLOCATION, 0, "FOLLOWLOCATION")
        // No signals from a library running on the importer's thread (curl docs CURLOPT_NOSIGNAL).
        long(CURLOPT_NOSIGNAL, 1, "NOSIGNAL")
        // libcurl honours http_proxy/ALL_PROXY from the environment; a proxy would make the checked peer
        // the proxy, not the source. Imports go direct.
        string(CURLOPT_PROXY, "", "PROXY")
        string(CURLOPT_NOPROXY, "*", "NOPROXY")
        long(CURLOPT_NETRC, Int(CURL_NETRC_IGNORED.rawValue), "NETRC")
        string(CURLOPT_USERAGENT, "ImageGate-import/1", "USERAGENT")
        // 512 KiB receive buffer instead of 16 KiB: 32 times fewer recv calls and write callbacks for a
        // multi-GB image (curl docs CURLOPT_BUFFERSIZE; within CURL_MAX_READ_SIZE on every libcurl since 7.53).
        long(CURLOPT_BUFFERSIZE, 512 * 1024, "BUFFERSIZE")

        if let pinned = r.pinned, IPAddressText.parse(t.lookupName) == nil {
            // Pin the validated addresses: libcurl connects to them and never asks DNS (no rebinding window),
            // while Host/SNI/certificate checks still use the name.
            check(CCurl_setopt_slist(h, CURLOPT_RESOLVE, lists.make([pinned.resolveEntry(for: t)])), "RESOLVE")
        }
        check(
            CCurl_setopt_opensocket_callback(h, CURLOPT_OPENSOCKETFUNCTION) { ud, purpose, address in
                guard let ud, let address else { return CCurl_socket_bad() }
                return Unmanaged<TransferContext>.fromOpaque(ud).takeUnretainedValue()
                    .onOpenSocket(purpose: purpose, address: address)
            }, "OPENSOCKETFUNCTION")
        check(CCurl_setopt_pointer(h, CURLOPT_OPENSOCKETDATA, userdata), "OPENSOCKETDATA")
        check(
            CCurl_setopt_write_callback(h, CURLOPT_WRITEFUNCTION) { ptr, size, count, ud in
                guard let ud else { return 0 }
                let buffer = UnsafeRawBufferPointer(start: ptr, count: size * count)
                return Unmanaged<TransferContext>.fromOpaque(ud).takeUnretainedValue().onWrite(buffer)
            }, "WRITEFUNCTION")
        check(CCurl_setopt_pointer(h, CURLOPT_WRITEDATA, userdata), "WRITEDATA")
        check(
            CCurl_setopt_write_callback(h, CURLOPT_HEADERFUNCTION) { ptr, size, count, ud in
                guard let ud else { return 0 }
                let buffer = UnsafeRawBufferPointer(start: ptr, count: size * count)
                return Unmanaged<TransferContext>.fromOpaque(ud).takeUnretainedValue().onHeader(buffer)
            }, "HEADERFUNCTION")
        check(CCurl_setopt_pointer(h, CURLOPT_HEADERDATA, userdata), "HEADERDATA")
        long(CURLOPT_NOPROGRESS, 0, "NOPROGRESS")
        check(
            CCurl_setopt_xferinfo_callback(h, CURLOPT_XFERINFOFUNCTION) { ud, _, _, _, _ in
                guard let ud else { return 1 }
                return Unmanaged<TransferContext>.fromOpaque(ud).takeUnretainedValue().onProgress()
            }, "XFERINFOFUNCTION")
        check(CCurl_setopt_pointer(h, CURLOPT_XFERINFODATA, userdata), "XFERINFODATA")

        // Docs/protocols.md §4.1 timeouts: connect 10 s, idle read 60 s (below 1 B/s for that long), wall-clock cap.
        long(CURLOPT_CONNECTTIMEOUT, max(1, p.connectTimeoutSeconds), "CONNECTTIMEOUT")
        long(CURLOPT_LOW_SPEED_LIMIT, 1, "LOW_SPEED_LIMIT")
        long(CURLOPT_LOW_SPEED_TIME, max(1, p.idleTimeoutSeconds), "LOW_SPEED_TIME")
        if let ms = r.timeoutMilliseconds { long(CURLOPT_TIMEOUT_MS, max(1, ms), "TIMEOUT_MS") }

        // TLS: verification on (the defaults, set so no future default change can weaken them), TLS ≥ 1.2.
        long(CURLOPT_SSL_VERIFYPEER, 1, "SSL_VERIFYPEER")
        long(CURLOPT_SSL_VERIFYHOST, 2, "SSL_VERIFYHOST")
        long(CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2, "SSLVERSION")
        if let ca = p.caFile { string(CURLOPT_CAINFO, ca, "CAINFO") }

        if t.scheme == "ftp" {
            configureFTP(h, r, long: long, string: string, check: check)
        } else if r.offset > 0 {
            // RFC 9110 §14.2 / §13.1.5: the rest of the same representation, or (If-Range fails) a 200
            // that HTTPResponseRules turns into source_changed.
            string(CURLOPT_RANGE, "\(r.offset)-", "RANGE")
            if let v = r.validator, HTTPResponseRules.usableAsIfRange(v) {
                check(CCurl_setopt_slist(h, CURLOPT_HTTPHEADER, lists.make(["If-Range: \(v)"])), "HTTPHEADER")
            }
        }
        guard failed.isEmpty else {
            return FetchFailure(
                code: "transfer_failed", message: "libcurl refused options: \(failed.joined(separator: ", "))")
        }
        return nil
    }

    private static func configureFTP(
        _ h: UnsafeMutableRawPointer, _ r: Request, long: (CURLoption, Int, String) -> Void,
        string: (CURLoption, String?, String) -> Void, check: (CURLcode, String) -> Void
    ) {
        // Credentials go in options, not in the URL libcurl sees, so no libcurl message can quote them.
        if let user = r.target.user { string(CURLOPT_USERNAME, user, "USERNAME") }
        if let password = r.target.password { string(CURLOPT_PASSWORD, password, "PASSWORD") }
        // Docs/protocols.md §4.1 FTP: passive only (no FTPPORT), EPSV first, and the address in a 227 PASV reply is
        // ignored in favour of the control connection's (CURLOPT_FTP_SKIP_PASV_IP; cf. CVE-2007-1562).
        string(CURLOPT_FTPPORT, nil, "FTPPORT")
        long(CURLOPT_FTP_USE_EPSV, 1, "FTP_USE_EPSV")
        long(CURLOPT_FTP_SKIP_PASV_IP, 1, "FTP_SKIP_PASV_IP")
        // MDTM becomes the resume validator; SIZE (sent by libcurl before RETR) the total.
        long(CURLOPT_FILETIME, 1, "FILETIME")
        long(CURLOPT_SERVER_RESPONSE_TIMEOUT, max(1, r.policy.idleTimeoutSeconds), "SERVER_RESPONSE_TIMEOUT")
        long(CURLOPT_TRANSFERTEXT, 0, "TRANSFERTEXT")
        if r.offset > 0 {
            check(CCurl_setopt_off(h, CURLOPT_RESUME_FROM_LARGE, curl_off_t(r.offset)), "RESUME_FROM_LARGE")
        }
    }
}
