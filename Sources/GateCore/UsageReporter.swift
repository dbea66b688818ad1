//===----------------------------------------------------------------------===//
// ImageGate: when a front reports what it served under a link: every 64 MiB during a session, the rest at its end.
//===----------------------------------------------------------------------===//

/// The bytes of one download session not yet added to its link's usage (Docs/links.md, "max_downloads"). A
/// long transfer reports every `interval` bytes so other nodes see the link's usage grow while it runs; the
/// session's end reports the rest. Each front keeps one per session (HTTP: per link on a connection).
public struct UsageReporter: Sendable {
    public static let interval: UInt64 = 64 << 20
    /// Bytes already reported.
    public private(set) var reported: UInt64 = 0

    public init() {}

    /// The bytes to report now, given `total` sent so far in the session; nil while fewer than `interval`
    /// bytes have gathered since the last report.
    public mutating func due(total: UInt64) -> UInt64? {
        guard total >= reported &+ Self.interval else { return nil }
        defer { reported = total }
        return total - reported
    }

    /// What is left to report when the session ends with `total` bytes sent.
    public mutating func rest(total: UInt64) -> UInt64 {
        guard total > reported else { return 0 }
        defer { reported = total }
        return total - reported
    }
}
