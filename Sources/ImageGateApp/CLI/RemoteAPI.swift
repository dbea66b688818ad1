//===----------------------------------------------------------------------===//
// ImageGate: the CLI's HTTP client for a remote server (`--server URL`, key in IMAGEGATE_API_KEY), on libcurl.
//===----------------------------------------------------------------------===//
import CCurl
import Foundation
import GateCore

/// One HTTP exchange with a remote ImageGate: the same API calls the local CLI runs in-process.
struct RemoteAPI {
    let base: String
    let apiKey: String
    /// A PEM file to trust instead of the system CAs (a server's self-signed certificate).
    let caFile: String?

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    private final class Collector {
        var body: [UInt8] = []
        var headers: [String: String] = [:]
    }

    /// Sends one request; throws `.io` when the server cannot be reached.
    func send(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8]? = nil)
        throws(GateError) -> Reply
    {
        guard let h = curl_easy_init() else { throw GateError.io("cannot initialise libcurl") }
        defer { curl_easy_cleanup(h) }
        let collector = Collector()
        let ud = Unmanaged.passUnretained(collector).toOpaque()
        _ = CCurl_setopt_string(h, CURLOPT_URL, base + path)
        _ = CCurl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
        _ = CCurl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = CCurl_setopt_long(h, CURLOPT_CONNECTTIMEOUT, 10)
        _ = CCurl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https")
        if method == "HEAD" { _ = CCurl_setopt_long(h, CURLOPT_NOBODY, 1) }
        if let caFile { _ = CCurl_setopt_string(h, CURLOPT_CAINFO, caFile) }
        var list: UnsafeMutablePointer<curl_slist>?
        for (k, v) in headers.merging(["Authorization": "Bearer " + apiKey], uniquingKeysWith: { a, _ in a }) {
            list = curl_slist_append(list, "\(k): \(v)")
        }
        // libcurl's own `Expect: 100-continue` would add a round trip per chunk.
        list = curl_slist_append(list, "Expect:")
        defer { curl_slist_free_all(list) }
        _ = CCurl_setopt_slist(h, CURLOPT_HTTPHEADER, list)
        var payload = body ?? []
        let result: CURLcode = payload.withUnsafeMutableBytes { raw in
            if body != nil {
                _ = CCurl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(raw.count))
                _ = CCurl_setopt_pointer(h, CURLOPT_POSTFIELDS, raw.baseAddress)
            }
            _ = CCurl_setopt_write_callback(h, CURLOPT_WRITEFUNCTION) { ptr, size, count, ud in
                guard let ud, let ptr else { return 0 }
                let c = Unmanaged<Collector>.fromOpaque(ud).takeUnretainedValue()
                c.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: size * count))
                return size * count
            }
            _ = CCurl_setopt_pointer(h, CURLOPT_WRITEDATA, ud)
            _ = CCurl_setopt_write_callback(h, CURLOPT_HEADERFUNCTION) { ptr, size, count, ud in
                guard let ud, let ptr else { return 0 }
                let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: size * count), as: UTF8.self)
                if let colon = line.firstIndex(of: ":") {
                    let c = Unmanaged<Collector>.fromOpaque(ud).takeUnretainedValue()
                    c.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                }
                return size * count
            }
            _ = CCurl_setopt_pointer(h, CURLOPT_HEADERDATA, ud)
            return curl_easy_perform(h)
        }
        guard result == CURLE_OK else {
            throw GateError.io("cannot reach \(base): \(String(cString: curl_easy_strerror(result)))")
        }
        var code = 0
        _ = CCurl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &code)
        return Reply(status: code, headers: collector.headers, body: collector.body)
    }

    /// A JSON API call, answered like `LocalAPI.call`.
    func call(_ method: String, _ path: String, query: [String: String] = [:], body: [String: Any]? = nil)
        throws(GateError) -> APIAnswer
    {
        let q = query.sorted { $0.key < $1.key }.map { "\(LocalAPI.encode($0.key))=\(LocalAPI.encode($0.value))" }
            .joined(separator: "&")
        var bytes: [UInt8]?
        if let body {
            guard let d = try? JSONSerialization.data(withJSONObject: body) else {
                throw GateError.internal("cannot encode request")
            }
            bytes = Array(d)
        }
        let r = try send(
            method, path + (q.isEmpty ? "" : "?" + q),
            headers: bytes == nil ? [:] : ["Content-Type": "application/json"], body: bytes)
        let isJSON = r.headers["content-type"]?.hasPrefix("application/json") ?? false
        let json = isJSON ? ((try? JSONSerialization.jsonObject(with: Data(r.body))) ?? [:]) : [:]
        return APIAnswer(status: r.status, json: json, raw: r.body)
    }

    /// `--server URL` (or IMAGEGATE_SERVER) with IMAGEGATE_API_KEY, or nil for the local data directory.
    static func from(_ args: Arguments) throws(GateError) -> RemoteAPI? {
        guard let server = args.value("--server") ?? environment("IMAGEGATE_SERVER"), !server.isEmpty else {
            return nil
        }
        guard server.hasPrefix("http://") || server.hasPrefix("https://") else {
            throw GateError.usage("--server must be an http:// or https:// URL")
        }
        guard let key = environment("IMAGEGATE_API_KEY"), !key.isEmpty else {
            throw GateError.usage("--server needs an API key in IMAGEGATE_API_KEY (never on the command line)")
        }
        let base = server.hasSuffix("/") ? String(server.dropLast()) : server
        return RemoteAPI(base: base, apiKey: key, caFile: args.value("--cacert"))
    }
}
