//===----------------------------------------------------------------------===//
// ImageGate: serializing a response head, with the framing fields the server owns.
//===----------------------------------------------------------------------===//

enum ResponseHeadWriter {
    /// A field value or name must never carry CR, LF or NUL (response splitting, RFC 9112 §11.1):
    /// such a field is dropped, never written.
    static func isSafe(_ s: String) -> Bool {
        !s.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
    }

    static func serialize(
        _ response: Response, version: HTTPVersion, date: String, keepAlive: Bool
    ) -> [UInt8] {
        // Always HTTP/1.1, also to an HTTP/1.0 request: the status line names the server's version
        // (RFC 9110 §6.2, RFC 9112 §2.3); framing below still follows the request's version.
        var out = "HTTP/1.1 "
        out += "\(response.status) \(StatusText.reason(response.status))\r\n"
        out += "Date: \(date)\r\n"
        for (name, value) in response.headers where isSafe(name) && isSafe(value) {
            out += name
            out += ": "
            out += value
            out += "\r\n"
        }
        // RFC 9110 §8.6: no Content-Length on 1xx/204; a 304 describes the 200 it stands for, so none there.
        if response.status >= 200 && response.status != 204 && response.status != 304 {
            out += "Content-Length: \(response.bodyLength)\r\n"
        }
        if !keepAlive {
            out += "Connection: close\r\n"
        } else if version == .http10 {
            out += "Connection: keep-alive\r\n"
        }
        out += "\r\n"
        return Array(out.utf8)
    }
}
