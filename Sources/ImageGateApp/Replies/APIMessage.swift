//===----------------------------------------------------------------------===//
// ImageGate: JSON in and out of the management API: strict bodies, query strings, error answers.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import HTTPServer

/// The JSON error answer: `{"error": {"code": "...", "message": "..."}}` with the status its code maps to.
enum APIError {
    static func status(_ code: GateError.Code) -> Int {
        switch code {
        case .notFound: 404
        case .permissionDenied, .forbiddenByPolicy: 403
        case .invalidRequest, .usage: 400
        case .unsupported: 405
        case .conflict, .alreadyExists: 409
        case .tokenInvalid: 401
        case .io, .internal: 500
        case .unavailable: 503
        }
    }

    static func response(_ error: GateError) -> Response {
        var r = APIReply.json(status(error.code), ["error": ["code": error.code.rawValue, "message": error.message]])
        // RFC 9110 §15.5.6: a 405 names the methods the resource supports.
        if error.code == .unsupported, error.message.hasPrefix(notAllowedPrefix) {
            let methods = error.message.dropFirst(notAllowedPrefix.count).dropLast()
            r.headers.append(("Allow", String(methods)))
        }
        return r
    }

    /// The start of a 405's message (`ManagementAPI.methodNotAllowed`); the methods after it become `Allow`.
    static let notAllowedPrefix = "method not allowed here (allowed: "

    static func unauthorized() -> Response {
        var r = APIReply.json(
            401, ["error": ["code": "unauthorized", "message": "an API key is required (Authorization: Bearer igk_…)"]])
        r.headers.append(("WWW-Authenticate", "Bearer realm=\"imagegate\""))
        return r
    }
}

enum APIReply {
    static func json(_ status: Int, _ object: Any) -> Response {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [
                ("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
            ], body: [.bytes(Array(data))])
    }
}

/// A JSON object body, read strictly: only known fields, each of the expected type.
struct JSONBody {
    private let object: [String: Any]
    var raw: [String: Any] { object }

    /// Parses `bytes` as a JSON object and refuses any field outside `allowed`.
    init(_ bytes: [UInt8], allowed: Set<String>) throws(GateError) {
        if bytes.isEmpty {
            object = [:]
            return
        }
        guard let any = try? JSONSerialization.jsonObject(with: Data(bytes), options: []),
            let obj = any as? [String: Any]
        else { throw GateError.invalid("the request body must be a JSON object") }
        if let unknown = obj.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw GateError.invalid("unknown field \(JSONText.quote(unknown))")
        }
        object = obj
    }

    func has(_ key: String) -> Bool { object[key] != nil }

    func string(_ key: String) throws(GateError) -> String? {
        guard let v = object[key] else { return nil }
        guard let s = v as? String else { throw GateError.invalid("field \(key) must be a string") }
        return s
    }

    func requiredString(_ key: String) throws(GateError) -> String {
        guard let s = try string(key) else { throw GateError.invalid("field \(key) is required") }
        return s
    }

    func strings(_ key: String) throws(GateError) -> [String]? {
        guard let v = object[key] else { return nil }
        guard let a = v as? [Any], let s = a as? [String] else {
            throw GateError.invalid("field \(key) must be an array of strings")
        }
        return s
    }

    func bool(_ key: String) throws(GateError) -> Bool? {
        guard let v = object[key] else { return nil }
        // JSONSerialization gives NSNumber for numbers and booleans alike; only a real boolean (objCType "c")
        // counts, so `1` is not `true`.
        guard let n = v as? NSNumber, String(cString: n.objCType) == "c" else {
            throw GateError.invalid("field \(key) must be true or false")
        }
        return n.boolValue
    }
}

/// `a=1&b=x%20y` → ["a": "1", "b": "x y"]. A repeated key keeps its last value; bad escapes are refused.
struct QueryString {
    let values: [String: String]

    init(_ raw: String?) throws(GateError) {
        var out: [String: String] = [:]
        for pair in (raw ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = Self.decode(parts[0]), let v = Self.decode(parts.count > 1 ? parts[1] : "") else {
                throw GateError.invalid("malformed query string")
            }
            out[k] = v
        }
        values = out
    }

    static func decode(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "+") {
                bytes.append(32)
            } else if c == UInt8(ascii: "%") {
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else {
                    return nil
                }
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    subscript(_ key: String) -> String? { values[key].flatMap { $0.isEmpty ? nil : $0 } }

    func int(_ key: String, default d: Int) throws(GateError) -> Int {
        guard let v = self[key] else { return d }
        guard let n = Int(v), n >= 0 else { throw GateError.invalid("\(key) must be a non-negative whole number") }
        return n
    }
}
