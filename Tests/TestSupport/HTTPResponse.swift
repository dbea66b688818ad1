//===----------------------------------------------------------------------===//
// ImageGate test support: a response as the client received it, parsed from raw bytes.
//===----------------------------------------------------------------------===//
import Foundation

/// Status, fields (in order, names as sent) and the body bytes that `Content-Length` framed.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var reason: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    /// The first field named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public func headers(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object; a body that is not one is a test failure.
    public func json() throws -> [String: Any] {
        guard let o = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw TestFailure("HTTP \(status): body is not a JSON object: \(text.prefix(200))")
        }
        return o
    }

    /// `{"error": {"code": …}}` of a management API error answer, nil for any other body.
    public var errorCode: String? {
        ((try? json())?["error"] as? [String: Any])?["code"] as? String
    }

    /// Parses a response head at the start of `bytes`: the head and its length with the final CRLF CRLF, or
    /// nil while incomplete.
    static func parseHead(_ bytes: ArraySlice<UInt8>) throws -> (HTTPResponse, Int)? {
        let crlf2: [UInt8] = [13, 10, 13, 10]
        guard
            let end = bytes.indices.first(where: { i in
                i + 4 <= bytes.endIndex && bytes[i..<(i + 4)].elementsEqual(crlf2)
            })
        else { return nil }
        let text = String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0", let status = Int(parts[1]) else {
            throw TestFailure("not a status line: \(statusLine)")
        }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw TestFailure("not a field line: \(line)") }
            headers.append(
                (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let r = HTTPResponse(
            status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: [])
        return (r, end + 4 - bytes.startIndex)
    }
}

/// nil when `got` equals `expected`, else where they first differ (a failure message that does not print
/// a megabyte): `#expect(byteDifference(r.body, file) == nil)`.
public func byteDifference(_ got: [UInt8], _ expected: [UInt8]) -> String? {
    if got == expected { return nil }
    let common = min(got.count, expected.count)
    let first = (0..<common).first { got[$0] != expected[$0] } ?? common
    return "\(got.count) bytes where \(expected.count) were expected; first difference at offset \(first)"
}
