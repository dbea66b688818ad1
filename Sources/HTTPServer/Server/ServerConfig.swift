//===----------------------------------------------------------------------===//
// ImageGate: limits and timeouts of one HTTP listener.
//===----------------------------------------------------------------------===//

/// Every number a hostile or slow client could otherwise push without bound (Docs/protocols.md §2.1 item 10).
public struct HTTPServerConfig: Sendable {
    /// Event-loop threads; 0 means one per CPU.
    public var loops = 0
    /// From the first byte of a request head to its end (slowloris).
    public var headerTimeoutMs: Int64 = 20_000
    /// A keep-alive connection with no request in progress.
    public var idleTimeoutMs: Int64 = 30_000
    /// No byte accepted by the peer for this long while a response is pending (slow read).
    public var sendTimeoutMs: Int64 = 60_000
    /// A response parked on bytes its blob store is fetching (a cold slice of an object-store blob) waits at
    /// most this long for them (`blobs.timeout`), then answers 503 (or is cut, after its head).
    public var storeTimeoutMs: Int64 = 10_000
    public var maxRequestsPerConnection = 1000
    public var maxConnections = 10_000
    public var maxConnectionsPerPeer = 256
    public var maxBodyBytes = 1 << 20
    /// Bytes one connection may send per loop turn before others get a go (nginx `sendfile_max_chunk`).
    public var writeChunkBytes = 2 << 20
    public var parseLimits = ParseLimits()

    public init() {}
}
