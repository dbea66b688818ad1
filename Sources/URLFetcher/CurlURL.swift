//===----------------------------------------------------------------------===//
// ImageGate: libcurl's URL parser (curl_url) — the one parser every import URL and redirect goes through.
//===----------------------------------------------------------------------===//

import CCurl

/// The libcurl process-wide initialisation, run once before the first handle. A global `let` is
/// initialised with swift_once, so this is thread-safe even though curl_global_init is not (curl docs:
/// "must be called ... before any other thread is running" is satisfied by the once-guard).
let curlGlobalInit: Bool = CCurl_global_init() == CURLE_OK

/// A `CURLU` handle, confined to the function that made it. Docs/protocols.md §4.1 "parse once with one parser":
/// the parser that validates a URL is the same one libcurl then uses, so there is no parser differential
/// (the class of bug behind "https://good@evil" and "http://a#@b" confusions).
final class CurlURL {
    private let handle: OpaquePointer

    /// nil with libcurl's reason when `text` is not a URL. Schemes libcurl does not implement are still
    /// parsed (CURLU_NON_SUPPORT_SCHEME) so the caller can report `scheme_not_allowed` rather than `bad_url`.
    init(_ text: String) throws(FetchFailure) {
        _ = curlGlobalInit
        guard let h = curl_url() else { throw FetchFailure.badURL("cannot allocate a URL parser") }
        handle = h
        let rc = curl_url_set(h, CURLUPART_URL, text, CCurl_u_non_support_scheme())
        guard rc == CURLUE_OK else {
            throw FetchFailure.badURL("not a valid URL (\(String(cString: curl_url_strerror(rc))))")
        }
    }

    deinit { curl_url_cleanup(handle) }

    /// `reference` (absolute or relative, e.g. a Location header) resolved against `base`, or nil.
    static func resolve(_ reference: String, against base: String) -> String? {
        guard let url = try? CurlURL(base) else { return nil }
        guard curl_url_set(url.handle, CURLUPART_URL, reference, CCurl_u_non_support_scheme()) == CURLUE_OK else {
            return nil
        }
        return url.get(CURLUPART_URL)
    }

    /// One part, or nil when absent. `decode` percent-decodes (user, password).
    func get(_ part: CURLUPart, decode: Bool = false, defaultPort: Bool = false) -> String? {
        var out: UnsafeMutablePointer<CChar>? = nil
        var flags: UInt32 = 0
        if decode { flags |= CCurl_u_urldecode() }
        if defaultPort { flags |= CCurl_u_default_port() }
        guard curl_url_get(handle, part, &out, flags) == CURLUE_OK, let out else { return nil }
        defer { curl_free(out) }
        return String(cString: out)
    }

    /// Removes a part (user, password, fragment) before the URL is handed to libcurl.
    func clear(_ part: CURLUPart) {
        _ = curl_url_set(handle, part, nil, 0)
    }
}

@available(*, unavailable) extension CurlURL: Sendable {}
