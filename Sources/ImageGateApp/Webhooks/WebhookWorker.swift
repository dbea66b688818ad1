//===----------------------------------------------------------------------===//
// ImageGate: the thread on each node that delivers the webhook outbox (Docs/webhooks.md, "Delivery").
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Synchronization
import SystemIO
import URLFetcher

/// Once a second, claims the due deliveries (`CatalogStore.claimWebhookDeliveries`: safe with several nodes on
/// one catalog, and one image's events in order) and POSTs them one after another on its own thread (libcurl
/// blocks; never the cooperative pool or an event loop). Each attempt's outcome goes back to the catalog: a 2xx
/// answer is delivered; anything else (another status, no answer, an address the SSRF rules refuse) is retried
/// on `WebhookRetry`'s schedule. A node that stops mid-attempt leaves its claim to expire after `claimSeconds`,
/// then another node (or the restarted one) tries again: delivery is at least once, and the event id lets the
/// receiver drop a repeat.
final class WebhookWorker: Sendable {
    static let claimSeconds: Int64 = 60
    /// Per attempt, connect included: a batch of `batch` attempts ends well within the claim.
    static let attemptTimeoutSeconds = 10
    static let batch = 4
    /// How long the log keeps a delivery that ended (delivered or given up).
    static let logRetentionSeconds: Int64 = 30 * 86_400

    private let store: any CatalogStore
    private let clock: any WallClock
    private let logger: Logger
    private let policy: FetchPolicy
    private let retry: WebhookRetry
    private let holder: String
    private let thread = Mutex<PeriodicThread?>(nil)

    init(store: any CatalogStore, clock: any WallClock, logger: Logger, settings: WebhookSettings) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.policy = settings.policy
        self.retry = WebhookRetry(first: settings.firstRetry)
        self.holder = "\(LeaseHolder.localNode)/\(LeaseHolder.current.run)"
    }

    func start() {
        let t = PeriodicThread.start(name: "webhooks", intervalMs: 1000) { [self] in runDue() }
        thread.withLock { $0 = t }
    }

    func stop() { thread.withLock { $0 }?.stop() }

    private let lastPrune = Mutex<Int64>(0)

    /// Delivers everything due now, a batch at a time (a long queue is drained without waiting a second per batch),
    /// and once an hour drops log rows older than `logRetentionSeconds`.
    func runDue() {
        let now = clock.now()
        if lastPrune.withLock({ last in
            defer { if now - last >= 3600 { last = now } }
            return now - last >= 3600
        }) {
            _ = try? store.pruneWebhookDeliveries(endedBefore: now - Self.logRetentionSeconds)
        }
        while true {
            let now = clock.now()
            let claimed: [WebhookDelivery]
            do {
                claimed = try store.claimWebhookDeliveries(
                    holder: holder, now: now, claimUntil: now + Self.claimSeconds, limit: Self.batch)
            } catch {
                logger.warning("webhooks: cannot read the outbox: \(error)")
                return
            }
            if claimed.isEmpty { return }
            let hooks = ((try? store.webhooks()) ?? []).reduce(into: [String: Webhook]()) { $0[$1.id] = $1 }
            for d in claimed { attempt(d, hooks[d.webhookID]) }
            if claimed.count < Self.batch { return }
        }
    }

    private func attempt(_ d: WebhookDelivery, _ hook: Webhook?) {
        guard let hook else { return }  // removed meanwhile: its deliveries went with it
        let message = WebhookMessage(d.event, secret: hook.secret)
        let answer = URLPost.send(
            url: hook.url, body: message.body, headers: message.headers, policy: policy,
            timeoutSeconds: Self.attemptTimeoutSeconds)
        let now = clock.now()
        let outcome: WebhookAttemptOutcome
        switch answer {
        case .success(let status) where (200..<300).contains(status):
            outcome = .delivered(status: status)
        case .success(let status):
            outcome = retry.failed(d, status: status, error: "HTTP \(status)", now: now)
        case .failure(let f):
            // The delivery log is for platform administrators: the refused address may be named there.
            let why = f.logDetail.map { "\(f.code): \($0)" } ?? "\(f.code): \(f.message)"
            outcome = retry.failed(d, status: nil, error: why, now: now)
        }
        switch outcome {
        case .delivered:
            logger.debug("webhooks: \(d.event.id) \(d.event.type) delivered to \(hook.id)")
        case .retry(let at, _, let error):
            logger.info(
                "webhooks: \(d.event.id) to \(hook.id) failed (attempt \(d.attempts + 1)): \(error); retry in \(at - now) s"
            )
        case .gaveUp(_, let error):
            logger.warning("webhooks: \(d.event.id) to \(hook.id) given up after \(d.attempts + 1) attempts: \(error)")
        }
        do {
            try store.finishWebhookDelivery(seq: d.seq, holder: holder, outcome: outcome, at: now)
        } catch {
            logger.warning("webhooks: cannot record the outcome of \(d.event.id): \(error)")
        }
    }
}
