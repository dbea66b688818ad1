//===----------------------------------------------------------------------===//
// ImageGate test support: HTTP/1.1 requests as the bytes a client sends.
//===----------------------------------------------------------------------===//
import Foundation

/// One request, serialized exactly as written: the test controls every byte (header order, case, framing),
/// nothing is added but `Host` (unless given) and `Content-Length` for a body.
public struct RawRequest: Sendable {
    public var method: String
    public var target: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }

    public static func get(_ target: String, _ headers: [(String, String)] = []) -> RawRequest {
        RawRequest("GET", target, headers: headers)
    }

    public static func head(_ target: String, _ headers: [(String, String)] = []) -> RawRequest {
        RawRequest("HEAD", target, headers: headers)
    }

    /// A management API call (`/api/v1/…`) with `Authorization: Bearer <apiKey>` and, when `json` is given,
    /// that object as an `application/json` body.
    public static func api(_ method: String, _ path: String, key: String?, json: [String: Any]? = nil) -> RawRequest {
        var h: [(String, String)] = []
        if let key { h.append(("Authorization", "Bearer " + key)) }
        var body: [UInt8] = []
        if let json {
            body = Array((try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) ?? Data())
            h.append(("Content-Type", "application/json"))
        }
        return RawRequest(method, path, headers: h, body: body)
    }

    /// Adds a field (builder style).
    public func with(_ name: String, _ value: String) -> RawRequest {
        var r = self
        r.headers.append((name, value))
        return r
    }

    /// The request line, the fields, `Content-Length` when there is a body, the empty line, the body.
    public var bytes: [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\n"
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { text += "Host: test.invalid\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty && !headers.contains(where: { $0.0.lowercased() == "content-length" }) {
            text += "Content-Length: \(body.count)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8) + body
    }
}
