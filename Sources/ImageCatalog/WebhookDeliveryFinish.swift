//===----------------------------------------------------------------------===//
// ImageGate: the columns an attempt's outcome writes, the same for both catalog stores.
//===----------------------------------------------------------------------===//

/// What `finishWebhookDelivery` stores for an outcome: the new state, when the next attempt is due (unchanged
/// meaning for a finished delivery: the time it finished), the answer's status and the error text.
package struct DeliveryFinish {
    package let state: WebhookDeliveryState
    package let nextAttemptAt: Int64
    package let status: Int?
    package let error: String?

    package init(_ outcome: WebhookAttemptOutcome, now: Int64) {
        switch outcome {
        case .delivered(let status):
            (state, nextAttemptAt, self.status, error) = (.delivered, now, status, nil)
        case .retry(let at, let status, let error):
            (state, nextAttemptAt, self.status, self.error) = (.pending, at, status, error)
        case .gaveUp(let status, let error):
            (state, nextAttemptAt, self.status, self.error) = (.failed, now, status, error)
        }
    }
}
