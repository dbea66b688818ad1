//===----------------------------------------------------------------------===//
// ImageGate: CatalogStore conformance: webhooks and the delivery outbox (claims, order per image, outcomes).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Testing

@Suite struct WebhookConformanceTests {
    private func hook(_ id: String, _ events: [String], at time: Int64 = 10, enabled: Bool = true) -> Webhook {
        Webhook(
            id: id, url: "https://hooks.example/\(id)", events: events, secret: "s-\(id)", createdBy: "acc-admin",
            createdAt: time, enabled: enabled)
    }

    private func event(_ type: String, image: String?, at time: Int64 = 100) -> WebhookEvent {
        WebhookEvent(type: type, time: time, image: image, data: "{\"n\":\"\(type)\"}")
    }

    @Test(arguments: StoreKind.available) func webhooksAreStoredListedAndRemoved(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        let a = hook("whk-a", ["link.minted", "image.available", "image.available"], at: 20)
        let b = hook("whk-b", ["image.deleted"], at: 10, enabled: false)
        try store.insertWebhook(a)
        try store.insertWebhook(b)
        #expect(a.events == ["image.available", "link.minted"])
        #expect(try store.webhooks() == [b, a])
        let duplicate = #expect(throws: GateError.self) { try store.insertWebhook(a) }
        #expect(duplicate?.code == .alreadyExists)
        #expect(try store.removeWebhook("whk-b"))
        #expect(try !store.removeWebhook("whk-b"))
        #expect(try store.webhooks() == [a])
    }

    @Test(arguments: StoreKind.available) func anEventGoesToEveryEnabledSubscriberOnly(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        try store.insertWebhook(hook("whk-a", ["image.available"]))
        try store.insertWebhook(hook("whk-b", ["image.available", "image.failed"], at: 11))
        try store.insertWebhook(hook("whk-c", ["image.available"], at: 12, enabled: false))
        // A type that is only a prefix or part of a subscribed one matches nothing.
        #expect(try store.enqueueWebhookEvent(event("image.avail", image: "img-1")) == 0)
        #expect(try store.enqueueWebhookEvent(event("image.failed", image: "img-1")) == 1)
        let available = event("image.available", image: "img-1")
        #expect(try store.enqueueWebhookEvent(available) == 2)
        let logged = try store.webhookDeliveries(webhook: "whk-b", limit: 10)
        #expect(logged.map(\.event.type) == ["image.available", "image.failed"])
        #expect(logged[0].event == available)
        #expect(logged[0].state == .pending && logged[0].attempts == 0 && logged[0].nextAttemptAt == 100)
        #expect(try store.webhookDeliveries(webhook: "whk-b", limit: 1).count == 1)
        #expect(try store.webhookDeliveries(webhook: "whk-c", limit: 10).isEmpty)
        try store.removeWebhook("whk-b")
        #expect(try store.webhookDeliveries(webhook: "whk-b", limit: 10).isEmpty)
    }

    @Test(arguments: StoreKind.available) func oneImagesDeliveriesGoOutInEventOrder(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        try store.insertWebhook(hook("whk-a", ["image.available", "image.deleted", "link.minted"]))
        try store.enqueueWebhookEvent(event("image.available", image: "img-1"))
        try store.enqueueWebhookEvent(event("image.available", image: "img-2"))
        try store.enqueueWebhookEvent(event("image.deleted", image: "img-1"))
        try store.enqueueWebhookEvent(event("link.minted", image: nil))
        try store.enqueueWebhookEvent(event("link.minted", image: nil))
        // Not due yet: nothing.
        #expect(try store.claimWebhookDeliveries(holder: "n1", now: 99, claimUntil: 160, limit: 10).isEmpty)
        // img-1's second event waits for its first; events without an image have no order to keep.
        let first = try store.claimWebhookDeliveries(holder: "n1", now: 100, claimUntil: 160, limit: 10)
        #expect(first.map(\.event.image) == ["img-1", "img-2", nil, nil])
        #expect(first.map(\.seq) == first.map(\.seq).sorted())
        // Claimed: nobody else gets them before the claim ends.
        #expect(try store.claimWebhookDeliveries(holder: "n2", now: 120, claimUntil: 180, limit: 10).isEmpty)
        // A failed attempt scheduled for later keeps img-1's next event waiting.
        #expect(
            try store.finishWebhookDelivery(
                seq: first[0].seq, holder: "n1", outcome: .retry(at: 130, status: 503, error: "HTTP 503"), at: 121))
        #expect(try store.claimWebhookDeliveries(holder: "n2", now: 125, claimUntil: 185, limit: 10).isEmpty)
        let retried = try store.claimWebhookDeliveries(holder: "n2", now: 130, claimUntil: 190, limit: 10)
        #expect(retried.map(\.seq) == [first[0].seq] && retried[0].attempts == 1)
        // n1 lost that claim when it expired; only n2 may record the outcome now.
        #expect(
            try store.finishWebhookDelivery(
                seq: first[0].seq, holder: "n2", outcome: .delivered(status: 204), at: 131))
        #expect(
            try !store.finishWebhookDelivery(
                seq: first[0].seq, holder: "n2", outcome: .delivered(status: 204), at: 132))
        let next = try store.claimWebhookDeliveries(holder: "n1", now: 170, claimUntil: 230, limit: 10)
        // img-1's delete is now free; the other three are still claimed by n1 until 160 and then free again.
        #expect(next.map(\.event.type) == ["image.available", "image.deleted", "link.minted", "link.minted"])
        let log = try store.webhookDeliveries(webhook: "whk-a", limit: 10)
        let done = try #require(log.first { $0.seq == first[0].seq })
        #expect(done.state == .delivered && done.attempts == 2 && done.lastStatus == 204 && done.lastError == nil)
        #expect(done.lastAttemptAt == 131)
    }

    @Test(arguments: StoreKind.available) func aDeliveryGivenUpUnblocksTheNextAndIsLogged(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let store = try catalog.open()
        try store.insertWebhook(hook("whk-a", ["image.available", "image.deleted"]))
        try store.enqueueWebhookEvent(event("image.available", image: "img-1"))
        try store.enqueueWebhookEvent(event("image.deleted", image: "img-1"))
        let first = try store.claimWebhookDeliveries(holder: "n1", now: 100, claimUntil: 160, limit: 10)
        #expect(first.count == 1)
        #expect(
            try store.finishWebhookDelivery(
                seq: first[0].seq, holder: "n1", outcome: .gaveUp(status: nil, error: "connection refused"), at: 110))
        let second = try store.claimWebhookDeliveries(holder: "n1", now: 111, claimUntil: 170, limit: 10)
        #expect(second.map(\.event.type) == ["image.deleted"])
        let failed = try #require(try store.webhookDeliveries(webhook: "whk-a", limit: 10).last)
        #expect(failed.state == .failed && failed.lastStatus == nil && failed.lastError == "connection refused")
        // The log keeps ended deliveries until pruned; pending ones are never pruned.
        #expect(try store.pruneWebhookDeliveries(endedBefore: 110) == 0)
        #expect(try store.pruneWebhookDeliveries(endedBefore: 10_000) == 1)
        #expect(try store.webhookDeliveries(webhook: "whk-a", limit: 10).map(\.event.type) == ["image.deleted"])
    }

    /// Two stores (two nodes) claiming at once never both get a delivery.
    @Test(arguments: StoreKind.available) func concurrentClaimsNeverShareADelivery(_ kind: StoreKind) throws {
        let catalog = try TestCatalog(kind)
        let stores = [try catalog.open(), try catalog.open()]
        try stores[0].insertWebhook(hook("whk-a", ["link.minted"]))
        for _ in 0..<40 { try stores[0].enqueueWebhookEvent(event("link.minted", image: nil)) }
        let claimed = Collected<Int64>()
        try onThreads(8) { i in
            for d in try stores[i % 2].claimWebhookDeliveries(holder: "n\(i)", now: 100, claimUntil: 160, limit: 3) {
                claimed.append(d.seq)
            }
        }
        #expect(claimed.all.count == Set(claimed.all).count)
        #expect(claimed.all.count == 24)
    }
}
