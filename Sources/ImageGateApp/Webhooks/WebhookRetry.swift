//===----------------------------------------------------------------------===//
// ImageGate: when a failed webhook delivery is tried again, and when it is given up (Docs/webhooks.md).
//===----------------------------------------------------------------------===//
import ImageCatalog

/// Issue #14's schedule: the first retry `first` seconds after the first failure (at most 30 s), each later wait
/// twice the one before, capped at an hour; a delivery whose event is at least `period` old when an attempt
/// fails is given up, so every event is tried for at least 24 hours.
struct WebhookRetry: Sendable {
    var first: Int64 = 10
    var cap: Int64 = 3600
    var period: Int64 = 86_400

    /// The wait after the attempt numbered `attempt` (1 = the first attempt) failed.
    func delay(afterAttempt attempt: Int) -> Int64 {
        let doublings = max(0, attempt - 1)
        guard doublings < 32 else { return cap }
        return min(cap, first << Int64(doublings))
    }

    /// The outcome of a failed attempt: try again later, or give up.
    func failed(_ d: WebhookDelivery, status: Int?, error: String, now: Int64) -> WebhookAttemptOutcome {
        if now - d.event.time >= period { return .gaveUp(status: status, error: error) }
        return .retry(at: now + delay(afterAttempt: d.attempts + 1), status: status, error: error)
    }
}
