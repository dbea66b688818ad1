//===----------------------------------------------------------------------===//
// ImageGate: an import's recent byte counts, for a transfer rate over the last seconds rather than the last instant.
//===----------------------------------------------------------------------===//

/// The samples (monotonic ms, bytes) of the last `seconds`, one at most every second. The rate is taken over
/// that window, so one slow or fast second does not swing the ETA, and samples from before a pause never
/// dilute the rate after it: a resumed transfer starts a fresh window. Whether a transfer is *stalled*
/// (no bytes for a while) is decided when the catalog is read (`ImportProgressJSON`), since a stalled
/// transfer writes nothing.
package struct ProgressWindow {
    static let seconds: Int64 = 10
    private var samples: [(ms: Int64, bytes: UInt64)] = []

    package init() {}

    /// Whether a sample at `now` is due: a second after the previous one, or at once when `final`.
    func due(_ now: Int64, final: Bool) -> Bool {
        guard let last = samples.last else { return true }
        return final || now - last.ms >= 1000
    }

    /// Adds a sample and answers the rate (bytes per second) over the window, nil without an earlier sample
    /// in it.
    mutating func add(_ now: Int64, bytes: UInt64) -> Double? {
        samples.removeAll { now - $0.ms > Self.seconds * 1000 || $0.bytes > bytes }
        samples.append((now, bytes))
        guard let first = samples.first, now > first.ms else { return nil }
        return Double(bytes - first.bytes) * 1000 / Double(now - first.ms)
    }
}
