//===----------------------------------------------------------------------===//
// ImageGate: import leases: which process on which node owns an import in progress, and until when.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import GateCore

/// One process on one node. A pid alone is not an identity: pids are reused, and in a multi-node
/// deployment two nodes have the same pids. `run` is random per process start, so a later process that
/// happens to get a dead holder's pid is never taken for it.
public struct LeaseHolder: Sendable, Hashable, CustomStringConvertible {
    /// The node the process runs on: its host name (a `node.id` setting may replace it when several
    /// nodes share one catalog). Empty in leases written before catalog migration 5, all by processes on
    /// the host of the SQLite file.
    public var node: String
    public var pid: Int32
    /// 16 hex digits, random per process start.
    public var run: String

    public init(node: String, pid: Int32, run: String) {
        self.node = node
        self.pid = pid
        self.run = run
    }

    public var description: String { "\(node.isEmpty ? "?" : node)/\(pid)/\(run.isEmpty ? "?" : run)" }

    /// This process.
    public static let current = LeaseHolder(node: localNode, pid: getpid(), run: Hex.encode(Crypto.randomBytes(8)))

    /// This host's name (the node id).
    public static let localNode: String = {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()

    /// Whether this holder may be on this host (so its pid can be probed).
    var isLocal: Bool { node.isEmpty || node == Self.localNode }
}

/// The owner of an in-progress import. The holder refreshes `heartbeat` every `heartbeatInterval` seconds
/// (all its leases in one statement, from a thread of its own) and each refresh moves `expiresAt` to
/// `lifetime` seconds later. Nobody else touches an import whose lease is live; once it expired, the holder
/// is presumed dead and another process may take the import over (resume it, or fail it with
/// `stoppedReason`).
public struct ImportLease: Sendable, Equatable {
    /// How often a holder refreshes its leases (seconds).
    public static let heartbeatInterval: Int64 = 5
    /// How long a lease outlives its last heartbeat (seconds): six missed heartbeats.
    public static let lifetime: Int64 = 30
    /// The failure reason of an import whose holder stopped (crashed, was killed) before finishing.
    public static let stoppedReason = "the importing process stopped"

    public var holder: LeaseHolder
    /// Unix seconds of the last heartbeat.
    public var heartbeat: Int64
    /// Unix seconds after which the holder is presumed dead.
    public var expiresAt: Int64

    public init(holder: LeaseHolder = .current, heartbeat: Int64, expiresAt: Int64? = nil) {
        self.holder = holder
        self.heartbeat = heartbeat
        self.expiresAt = expiresAt ?? heartbeat + Self.lifetime
    }

    /// Whether the holder must be presumed alive at `now`. Expiry is the rule on every node; on the
    /// holder's own host a process that is gone is seen at once (`kill(pid, 0)` fails with ESRCH), and so
    /// is a pid that is now this very process under another run. Probing only ever shortens a lease: a
    /// reused pid still dies by expiry.
    public func isLive(now: Int64) -> Bool {
        guard now <= expiresAt else { return false }
        guard holder.isLocal else { return true }
        if holder.pid == LeaseHolder.current.pid { return holder.run == LeaseHolder.current.run }
        return Self.processExists(holder.pid)
    }

    /// `kill(pid, 0)`: EPERM means the pid exists under another user. Non-positive pids are never a holder
    /// (`kill(0, …)` would mean "my process group").
    static func processExists(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) == 0 { return true }
        return errno != ESRCH
    }
}
