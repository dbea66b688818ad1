//===----------------------------------------------------------------------===//
// ImageGate: a short-lived cache of authorized downloads, so a burst of range requests on one link
// costs one token verification and one catalog lookup per second, not one per request.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
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
    /// The token as presented and the protocol bits it was checked for. The token stays a slice of the request's
    /// path (no String copied per request); only its last `hashedSuffix` bytes are hashed: for a stored entry
    /// they are MAC bytes, uniformly distributed, and equality still compares the whole token. A lookup with a
    /// forged token can only land in a bucket of valid tokens' entries, whose number is bounded per shard.
    struct Key: Hashable, Sendable {
        let token: Substring
        let protocols: UInt16

        static let hashedSuffix = 16

        func hash(into hasher: inout Hasher) {
            hasher.combine(protocols)
            var token = token
            token.withUTF8 {
                hasher.combine(
                    bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: $0.suffix(Self.hashedSuffix))))
            }
        }

        static func == (a: Key, b: Key) -> Bool {
            guard a.protocols == b.protocols else { return false }
            var x = a.token
            var y = b.token
            return x.withUTF8 { p in
                y.withUTF8 { q in
                    p.count == q.count && (p.count == 0 || memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0)
                }
            }
        }
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
        Key(token: token, protocols: proto.rawValue)
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
