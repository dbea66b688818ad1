//===----------------------------------------------------------------------===//
// ImageGate: one HTTP(S) POST under the URL-import SSRF rules (webhook deliveries, Docs/webhooks.md).
//===----------------------------------------------------------------------===//

import CCurl

/// A small POST to an administrator-given address, with the same defences as a URL import
/// (Docs/url-import.md): the URL parsed once by libcurl, the host resolved here and every address checked
/// (`DestinationCheck`, with the policy's allow-list for private targets), the checked addresses pinned into
/// libcurl and checked again at connect time, no proxy, no redirects (a 3xx is just an answer), TLS verified.
/// Blocking: run it on a dedicated thread.
public enum URLPost {
    /// Why a POST to `url` would be refused before connecting (scheme, syntax, an address the rules block), or
    /// nil. Resolves the host: the answer holds for now; `send` checks again every time.
    public static func refusal(url: String, policy: FetchPolicy) -> FetchFailure? {
        do throws(FetchFailure) {
            let target = try FetchTarget.parse(url, policy: policy)
            guard target.scheme != "ftp" else {
                throw FetchFailure(
                    code: "scheme_not_allowed", message: "scheme 'ftp' is not allowed: \(target.redacted)")
            }
            _ = try HostResolver.pin(target, policy: policy)
            return nil
        } catch {
            return error
        }
    }

    /// The answer's status code, or why there was none. The response body is read and dropped.
    public static func send(
        url: String, body: [UInt8], headers: [String], policy: FetchPolicy, timeoutSeconds: Int
    ) -> Result<Int, FetchFailure> {
        let target: FetchTarget
        let pinned: PinnedHost
        do throws(FetchFailure) {
            target = try FetchTarget.parse(url, policy: policy)
            guard target.scheme != "ftp" else {
                throw FetchFailure(
                    code: "scheme_not_allowed", message: "scheme 'ftp' is not allowed: \(target.redacted)")
            }
            pinned = try HostResolver.pin(target, policy: policy)
        } catch {
            return .failure(error)
        }
        _ = curlGlobalInit
        guard let easy = curl_easy_init() else {
            return .failure(FetchFailure(code: "transfer_failed", message: "cannot create a libcurl handle"))
        }
        defer { curl_easy_cleanup(easy) }
        let context = PostContext(target: target, policy: policy, pinned: pinned)
        var lists = CurlStringLists()
        defer { lists.free() }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CCurl_error_size()) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CCurl_error_size()) + 1)
        defer { errorBuffer.deallocate() }

        var failed: [String] = []
        func long(_ o: CURLoption, _ v: Int, _ name: String) {
            if CCurl_setopt_long(easy, o, v) != CURLE_OK { failed.append(name) }
        }
        func string(_ o: CURLoption, _ v: String?, _ name: String) {
            if CCurl_setopt_string(easy, o, v) != CURLE_OK { failed.append(name) }
        }
        func check(_ rc: CURLcode, _ name: String) { if rc != CURLE_OK { failed.append(name) } }
        let userdata = Unmanaged.passUnretained(context).toOpaque()

        string(CURLOPT_URL, target.curlURL, "URL")
        check(CCurl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer), "ERRORBUFFER")
        string(CURLOPT_PROTOCOLS_STR, target.scheme, "PROTOCOLS_STR")
        long(CURLOPT_FOLLOWLOCATION, 0, "FOLLOWLOCATION")
        long(CURLOPT_NOSIGNAL, 1, "NOSIGNAL")
        // A proxy from the environment would make the checked peer the proxy, not the receiver.
        string(CURLOPT_PROXY, "", "PROXY")
        string(CURLOPT_NOPROXY, "*", "NOPROXY")
        long(CURLOPT_NETRC, Int(CURL_NETRC_IGNORED.rawValue), "NETRC")
        string(CURLOPT_USERAGENT, "ImageGate-webhook/1", "USERAGENT")
        if IPAddressText.parse(target.lookupName) == nil {
            check(CCurl_setopt_slist(easy, CURLOPT_RESOLVE, lists.make([pinned.resolveEntry(for: target)])), "RESOLVE")
        }
        check(
            CCurl_setopt_opensocket_callback(easy, CURLOPT_OPENSOCKETFUNCTION) { ud, purpose, address in
                guard let ud, let address else { return CCurl_socket_bad() }
                let c = Unmanaged<PostContext>.fromOpaque(ud).takeUnretainedValue()
                return SocketCheck.open(
                    purpose: purpose, address: address, pinned: c.pinned, host: c.target.lookupName, policy: c.policy,
                    refused: &c.refusedAddress)
            }, "OPENSOCKETFUNCTION")
        check(CCurl_setopt_pointer(easy, CURLOPT_OPENSOCKETDATA, userdata), "OPENSOCKETDATA")
        // The receiver's answer body is not used: read and dropped (returning less would fail the transfer).
        check(
            CCurl_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count },
            "WRITEFUNCTION")
        long(CURLOPT_CONNECTTIMEOUT, max(1, min(policy.connectTimeoutSeconds, timeoutSeconds)), "CONNECTTIMEOUT")
        long(CURLOPT_TIMEOUT, max(1, timeoutSeconds), "TIMEOUT")
        long(CURLOPT_SSL_VERIFYPEER, 1, "SSL_VERIFYPEER")
        long(CURLOPT_SSL_VERIFYHOST, 2, "SSL_VERIFYHOST")
        long(CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2, "SSLVERSION")
        if let ca = policy.caFile { string(CURLOPT_CAINFO, ca, "CAINFO") }
        check(CCurl_setopt_slist(easy, CURLOPT_HTTPHEADER, lists.make(headers + ["Expect:"])), "HTTPHEADER")
        long(CURLOPT_POST, 1, "POST")
        check(CCurl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "POSTFIELDSIZE_LARGE")
        var copy = body
        copy.withUnsafeMutableBytes {
            check(CCurl_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, $0.baseAddress), "COPYPOSTFIELDS")
        }
        guard failed.isEmpty else {
            return .failure(
                FetchFailure(
                    code: "transfer_failed", message: "libcurl refused options: \(failed.joined(separator: ", "))"))
        }

        let rc = withExtendedLifetime(context) { curl_easy_perform(easy) }
        if rc == CURLE_OK {
            var status = 0
            _ = CCurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            return .success(status)
        }
        if let refused = context.refusedAddress {
            return .failure(.refused("at connect time: \(refused) (\(target.redacted))"))
        }
        let text = String(cString: errorBuffer)
        let detail = text.isEmpty ? String(cString: curl_easy_strerror(rc)) : text
        let message = URLRedaction.scrub(detail, secrets: target.secrets) + " (\(target.redacted))"
        guard case .failed(let failure, _) = CurlErrors.map(rc, message: message) else {
            return .failure(FetchFailure(code: "transfer_failed", message: message))
        }
        return .failure(failure)
    }
}

/// What the open-socket callback needs, passed as its userdata (Docs/style.md §3.1).
private final class PostContext {
    let target: FetchTarget
    let policy: FetchPolicy
    let pinned: PinnedHost
    var refusedAddress: String?

    init(target: FetchTarget, policy: FetchPolicy, pinned: PinnedHost) {
        self.target = target
        self.policy = policy
        self.pinned = pinned
    }
}
