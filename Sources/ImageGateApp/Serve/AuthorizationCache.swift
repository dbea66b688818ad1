//===----------------------------------------------------------------------===//
// ImageGate: a short-lived cache of authorized downloads, so a burst of range requests on one link
// costs one token verification and one catalog lookup per second, not one per request.
//===----------------------------------------------------------------------===//
import DownloadTokens
import GateCore
import Synchronization

/// Verified token → authorized download, kept for `ttlMs` (1 s). Docs/protocols.md §3.5/§3.6 allow a gateway
/// up to 5 s of staleness for revocations and generation bumps; one second keeps deletes and revocations
/// effective almost at once. Sharded so the event loops rarely meet on a lock.
final class AuthorizationCache: Sendable {
    private struct Entry {
        let download: AuthorizedDownload
        let validUntilMs: Int64
    }
    /// The token as presented and the protocol bits it was checked for (a struct: no string built per request).
    struct Key: Hashable, Sendable {
        let token: String
        let protocols: UInt16
    }
    private static let shardCount = 16
    private static let maxEntriesPerShard = 1024
    /// Mutex is non-copyable, so each shard lives in its own object.
    private final class Shard: Sendable {
        let map = Mutex<[Key: Entry]>([:])
    }
    private let shards: [Shard]
    let ttlMs: Int64

    init(ttlMs: Int64 = 1000) {
        self.ttlMs = ttlMs
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    private func shard(_ key: Key) -> Shard {
        // The token's last characters are MAC bytes: uniformly distributed, a fine shard selector.
        shards[Int(key.token.utf8.last ?? 0) % Self.shardCount]
    }

    static func key(_ token: Substring, _ proto: ProtocolSet) -> Key {
        Key(token: String(token), protocols: proto.rawValue)
    }

    func lookup(_ key: Key, nowMs: Int64) -> AuthorizedDownload? {
        shard(key).map.withLock { map in
            guard let e = map[key] else { return nil }
            if e.validUntilMs < nowMs {
                map[key] = nil
                return nil
            }
            return e.download
        }
    }

    func store(_ key: Key, _ download: AuthorizedDownload, nowMs: Int64) {
        shard(key).map.withLock { map in
            // A bound, not an LRU: when a shard is full of distinct live links, start it afresh.
            if map.count >= Self.maxEntriesPerShard { map.removeAll(keepingCapacity: true) }
            map[key] = Entry(download: download, validUntilMs: nowMs + ttlMs)
        }
    }
}
