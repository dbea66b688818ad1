//===----------------------------------------------------------------------===//
// ImageGate: the libcurl options of a store request, each with the reason it is set.
//===----------------------------------------------------------------------===//
import CCurl

extension S3Client {
    /// Sets every option on a reset handle; nil when all were accepted, else a code to report (an option
    /// libcurl refuses means the request would not be the one that was signed, so it is not made).
    func configure(
        _ h: UnsafeMutableRawPointer, url: String, method: String, body: S3RequestBody,
        headers: UnsafeMutablePointer<curl_slist>?, userdata: UnsafeMutableRawPointer,
        errorBuffer: UnsafeMutablePointer<CChar>
    ) -> CURLcode? {
        var failed: CURLcode?
        func check(_ rc: CURLcode) { if rc != CURLE_OK, failed == nil { failed = rc } }
        func long(_ o: CURLoption, _ v: Int) { check(CCurl_setopt_long(h, o, v)) }
        func string(_ o: CURLoption, _ v: String?) { check(CCurl_setopt_string(h, o, v)) }

        string(CURLOPT_URL, url)
        check(CCurl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer))
        string(CURLOPT_PROTOCOLS_STR, "http,https")
        // The path was encoded and signed as is: libcurl must not squash "/./" or "/../" (a key may hold them).
        long(CURLOPT_PATH_AS_IS, 1)
        // A store answers or fails; a redirect (a wrong region's 301) is reported, never followed unsigned.
        long(CURLOPT_FOLLOWLOCATION, 0)
        // No signals from a library running on a caller's thread (curl docs CURLOPT_NOSIGNAL).
        long(CURLOPT_NOSIGNAL, 1)
        // The store is configured by its endpoint alone: http_proxy/ALL_PROXY from the environment and
        // ~/.netrc do not apply (a proxy would see the requests; netrc could add a second Authorization).
        string(CURLOPT_PROXY, "")
        string(CURLOPT_NOPROXY, "*")
        long(CURLOPT_NETRC, Int(CURL_NETRC_IGNORED.rawValue))
        string(CURLOPT_USERAGENT, "ImageGate-S3/1")
        check(CCurl_setopt_slist(h, CURLOPT_HTTPHEADER, headers))
        // Large buffers: fewer callbacks and syscalls for multi-megabyte objects and parts (curl docs
        // CURLOPT_BUFFERSIZE, CURLOPT_UPLOAD_BUFFERSIZE).
        long(CURLOPT_BUFFERSIZE, 512 * 1024)
        long(CURLOPT_UPLOAD_BUFFERSIZE, 512 * 1024)
        long(CURLOPT_TCP_KEEPALIVE, 1)

        let c = configuration
        long(CURLOPT_CONNECTTIMEOUT_MS, max(1, c.connectTimeoutMilliseconds))
        long(CURLOPT_LOW_SPEED_LIMIT, 1)
        long(CURLOPT_LOW_SPEED_TIME, max(1, c.idleTimeoutSeconds))
        if let ms = c.requestTimeoutMilliseconds { long(CURLOPT_TIMEOUT_MS, max(1, ms)) }
        // TLS: verification on (set so no future default can weaken it), TLS 1.2 or newer, the system CAs or
        // the configured CA file.
        long(CURLOPT_SSL_VERIFYPEER, 1)
        long(CURLOPT_SSL_VERIFYHOST, 2)
        long(CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2)
        if let ca = c.caFile { string(CURLOPT_CAINFO, ca) }

        switch method {
        case "GET": long(CURLOPT_HTTPGET, 1)
        case "HEAD": long(CURLOPT_NOBODY, 1)
        case "PUT", "POST":
            // Upload mode with an exact length (Content-Length, which S3 requires) and the body from the read
            // callback; CUSTOMREQUEST turns the PUT into a POST where the API wants one.
            long(CURLOPT_UPLOAD, 1)
            check(CCurl_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(body.length)))
            if method == "POST" { string(CURLOPT_CUSTOMREQUEST, "POST") }
            check(
                CCurl_setopt_read_callback(h, CURLOPT_READFUNCTION) { ptr, size, count, ud in
                    guard let ud, let ptr else { return CCurl_readfunc_abort() }
                    let buffer = UnsafeMutableRawBufferPointer(start: ptr, count: size * count)
                    return Unmanaged<S3Exchange>.fromOpaque(ud).takeUnretainedValue().onRead(buffer)
                })
            check(CCurl_setopt_pointer(h, CURLOPT_READDATA, userdata))
            check(
                CCurl_setopt_seek_callback(h, CURLOPT_SEEKFUNCTION) { ud, offset, origin in
                    guard let ud else { return 1 }
                    return Unmanaged<S3Exchange>.fromOpaque(ud).takeUnretainedValue().onSeek(
                        offset: Int64(offset), origin: origin)
                })
            check(CCurl_setopt_pointer(h, CURLOPT_SEEKDATA, userdata))
        default: string(CURLOPT_CUSTOMREQUEST, method)
        }
        check(
            CCurl_setopt_write_callback(h, CURLOPT_HEADERFUNCTION) { ptr, size, count, ud in
                guard let ud else { return 0 }
                let buffer = UnsafeRawBufferPointer(start: ptr, count: size * count)
                return Unmanaged<S3Exchange>.fromOpaque(ud).takeUnretainedValue().onHeader(buffer)
            })
        check(CCurl_setopt_pointer(h, CURLOPT_HEADERDATA, userdata))
        check(
            CCurl_setopt_write_callback(h, CURLOPT_WRITEFUNCTION) { ptr, size, count, ud in
                guard let ud else { return 0 }
                let buffer = UnsafeRawBufferPointer(start: ptr, count: size * count)
                return Unmanaged<S3Exchange>.fromOpaque(ud).takeUnretainedValue().onWrite(buffer)
            })
        check(CCurl_setopt_pointer(h, CURLOPT_WRITEDATA, userdata))
        return failed
    }
}
