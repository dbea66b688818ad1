//===----------------------------------------------------------------------===//
// ImageGate: the webhook retry schedule and the signed message (issue #14 item 7, Docs/webhooks.md).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import ImageCatalog
import Testing

@testable import ImageGateApp

@Suite struct WebhookRetryTests {
    private func delivery(attempts: Int, eventTime: Int64) -> WebhookDelivery {
        WebhookDelivery(
            seq: 1, webhookID: "whk-a",
            event: WebhookEvent(
                id: "evt-1", type: "image.available", time: eventTime,
                image: "img-1", data: "{}"),
            attempts: attempts, nextAttemptAt: eventTime, state: .pending, lastStatus: nil, lastError: nil,
            lastAttemptAt: nil)
    }

    @Test func firstRetryWithin30sThenDoublingUpToAnHour() {
        let r = WebhookRetry(first: 10)
        #expect((1...11).map { r.delay(afterAttempt: $0) } == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600])
        #expect(r.delay(afterAttempt: 500) == 3600)
    }

    /// Tried until the event is a day old, whatever the attempt count: at least 24 h of retries.
    @Test func givesUpOnlyOnceTheEventIsADayOld() {
        let r = WebhookRetry(first: 10)
        let young = r.failed(
            delivery(attempts: 30, eventTime: 1000), status: 503, error: "HTTP 503", now: 1000 + 86_399)
        #expect(young == .retry(at: 1000 + 86_399 + 3600, status: 503, error: "HTTP 503"))
        let old = r.failed(delivery(attempts: 30, eventTime: 1000), status: nil, error: "refused", now: 1000 + 86_400)
        #expect(old == .gaveUp(status: nil, error: "refused"))
        let first = r.failed(delivery(attempts: 0, eventTime: 1000), status: nil, error: "refused", now: 1001)
        #expect(first == .retry(at: 1011, status: nil, error: "refused"))
    }

    @Test func theMessageIsTheIssuesBodyAndHeaders() {
        let event = WebhookEvent(
            id: "evt-0123", type: "link.minted", time: 1_700_000_000, image: "img-1", data: "{\"serial\":\"ab\"}")
        let m = WebhookMessage(event, secret: "whsec_k")
        let body = String(decoding: m.body, as: UTF8.self)
        #expect(
            body
                == "{\"id\":\"evt-0123\",\"type\":\"link.minted\",\"time\":\"2023-11-14T22:13:20Z\",\"data\":{\"serial\":\"ab\"}}"
        )
        let mac = Hex.encode(Crypto.hmacSHA256(key: Array("whsec_k".utf8), message: m.body))
        #expect(m.headers.contains("X-ImageGate-Signature: sha256=\(mac)"))
        #expect(m.headers.contains("X-ImageGate-Event: link.minted"))
        #expect(m.headers.contains("X-ImageGate-Delivery: evt-0123"))
        #expect(WebhookMessage.signature(m.body, secret: "other") != "sha256=\(mac)")
    }
}
