//===----------------------------------------------------------------------===//
// ImageGate: the service writes webhook events to the outbox after each change (Docs/webhooks.md, "Events").
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog
import ImageManagement
import SQLiteCatalog
import Testing

@Suite struct WebhookEventsTests {
    private func outbox(_ w: World, _ hook: Webhook) throws -> [WebhookEvent] {
        try w.store.webhookDeliveries(webhook: hook.id, limit: 100).reversed().map(\.event)
    }

    private func data(_ e: WebhookEvent) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(e.data.utf8)) as? [String: Any])
    }

    @Test func mintRevokeDeleteAndRestoreAreQueuedInOrder() throws {
        let w = try World()
        let hook = try w.service.addWebhook(
            w.admin, url: "https://hooks.example/x",
            events: ["link.minted", "link.revoked", "image.deleted", "image.available"], source: "test")
        let image = try w.image(w.tenantA)
        let issue = TokenIssue(
            serial: ID128(high: 1, low: 2), image: image.id, tenant: w.tenantA, issuedAt: w.clock.now(),
            expiresAt: w.clock.now() + 600, protocols: 0b10101, minter: "t")
        try w.service.recordMint(w.manageA, issue, source: "test")
        try w.service.revokeLink(w.manageA, serial: issue.serial, source: "test")
        _ = try w.service.deleteImage(w.ownerA, image.id, source: "test")
        _ = try w.service.restoreImage(w.ownerA, image.id, source: "test")
        let events = try outbox(w, hook)
        #expect(events.map(\.type) == ["link.minted", "link.revoked", "image.deleted", "image.available"])
        #expect(events.allSatisfy { $0.image == image.id.description && $0.time == w.clock.now() })
        #expect(Set(events.map(\.id)).count == 4)
        let minted = try data(events[0])
        #expect(minted["serial"] as? String == issue.serial.hex)
        #expect(minted["protocols"] as? [String] == ["https", "http", "ftps"])
        #expect(minted["minted_by"] as? String == w.manageA.accountID)
        #expect(try data(events[2])["status"] as? String == "deleted")
    }

    @Test func nothingIsQueuedForTypesNobodySubscribedTo() throws {
        let w = try World()
        let hook = try w.service.addWebhook(
            w.admin, url: "https://hooks.example/x", events: ["image.failed"], source: "t")
        let image = try w.image(w.tenantA)
        _ = try w.service.deleteImage(w.ownerA, image.id, source: "test")
        #expect(try outbox(w, hook).isEmpty)
        // The generic door (link usage accounting) follows the same subscriptions.
        w.service.webhookEvents.emit(
            type: "image.failed", image: image.id, data: [("n", .number(1)), ("l", .list(["a"]))])
        #expect(try outbox(w, hook).map(\.data) == ["{\"n\":1,\"l\":[\"a\"]}"])
    }

    @Test func onlyPlatformAdministratorsManageWebhooks() throws {
        let w = try World()
        let refused = #expect(throws: GateError.self) {
            try w.service.addWebhook(w.ownerA, url: "https://hooks.example/x", events: ["link.minted"], source: "t")
        }
        #expect(refused?.code == .permissionDenied)
        let unknown = #expect(throws: GateError.self) {
            try w.service.addWebhook(w.admin, url: "https://hooks.example/x", events: ["image.exploded"], source: "t")
        }
        #expect(unknown?.code == .invalidRequest)
        let hook = try w.service.addWebhook(
            w.admin, url: "https://hooks.example/x", events: ["link.minted"], source: "t")
        #expect(hook.secret.hasPrefix("whsec_") && hook.secret.count == 6 + 64)
        #expect(throws: GateError.self) { try w.service.webhooks(w.ownerA) }
        try w.service.removeWebhook(w.admin, hook.id, source: "t")
        let gone = #expect(throws: GateError.self) { try w.service.removeWebhook(w.admin, hook.id, source: "t") }
        #expect(gone?.code == .notFound)
    }
}
