//===----------------------------------------------------------------------===//
// ImageGate: the body and headers of one webhook delivery (issue #14 "Names the checks rely on").
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import ImageCatalog

/// `{"id", "type", "time", "data"}` and the headers `X-ImageGate-Event`, `X-ImageGate-Delivery` and
/// `X-ImageGate-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the secret's UTF-8 bytes>`.
struct WebhookMessage {
    let body: [UInt8]
    let headers: [String]

    init(_ event: WebhookEvent, secret: String) {
        let text =
            "{\"id\":\(JSONText.quote(event.id)),\"type\":\(JSONText.quote(event.type)),"
            + "\"time\":\(JSONText.quote(TimeFormat.rfc3339(event.time))),\"data\":\(event.data)}"
        body = Array(text.utf8)
        headers = [
            "Content-Type: application/json",
            "X-ImageGate-Event: \(event.type)",
            "X-ImageGate-Delivery: \(event.id)",
            "X-ImageGate-Signature: \(Self.signature(body, secret: secret))",
        ]
    }

    static func signature(_ body: [UInt8], secret: String) -> String {
        "sha256=" + Hex.encode(Crypto.hmacSHA256(key: Array(secret.utf8), message: body))
    }
}
