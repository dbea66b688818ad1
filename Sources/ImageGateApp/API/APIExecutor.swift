//===----------------------------------------------------------------------===//
// ImageGate: how management CLI commands reach the API: in-process on the data directory, the same code
// path the server runs, so the CLI covers every API operation with identical rules and answers.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import HTTPServer
import ImageManagement
import SystemIO

/// A JSON answer of the management API.
struct APIAnswer {
    let status: Int
    let json: Any
    let raw: [UInt8]

    var errorMessage: String? {
        guard status >= 400 else { return nil }
        if let o = json as? [String: Any], let e = o["error"] as? [String: Any], let m = e["message"] as? String {
            return m
        }
        return "HTTP \(status)"
    }

    /// Throws the API's error as the matching GateError, so exit codes follow it.
    func check() throws(GateError) {
        guard let message = errorMessage else { return }
        let code = ((json as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
        let mapped: GateError.Code =
            code == "unauthorized" ? .permissionDenied : GateError.Code(rawValue: code ?? "") ?? .internal
        throw GateError(mapped, message)
    }
}

struct LocalAPI {
    let api: ManagementAPI

    func call(_ method: String, _ path: String, query: [String: String] = [:], body: [String: Any]? = nil)
        throws(GateError) -> APIAnswer
    {
        let q = query.sorted { $0.key < $1.key }.map { "\(Self.encode($0.key))=\(Self.encode($0.value))" }
            .joined(separator: "&")
        var bytes: [UInt8] = []
        if let body {
            guard let d = try? JSONSerialization.data(withJSONObject: body) else {
                throw GateError.internal("cannot encode request")
            }
            bytes = Array(d)
        }
        let head = RequestHead(
            method: method, target: path + (q.isEmpty ? "" : "?" + q), path: path, query: q.isEmpty ? nil : q,
            version: .http11, headers: [("host", "localhost")], keepAlive: false, contentLength: UInt64(bytes.count),
            expectsContinue: false)
        let request = Request(
            head: head, peer: PeerAddress(host: "cli", port: 0, bytes: []), body: bytes, secure: true)
        let response = api.respond(to: request, as: .localAdmin)
        var raw: [UInt8] = []
        for piece in response.body { if case .bytes(let b) = piece { raw += b } }
        let isJSON = response.headers.contains { $0.0 == "Content-Type" && $0.1.hasPrefix("application/json") }
        let json = isJSON ? ((try? JSONSerialization.jsonObject(with: Data(raw))) ?? [:]) : [:]
        return APIAnswer(status: response.status, json: json, raw: raw)
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }
}
