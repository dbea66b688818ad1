//===----------------------------------------------------------------------===//
// ImageGate: import leases: which process on which node owns an import in progress, and until when.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import GateCore
import Synchronization

/// One process on one node: the node id (`node.id`, default the host name) and a random id of the process
/// run. That pair is the identity (equality, the heartbeat's `WHERE`): a pid alone is reused, and two nodes
/// have the same pids. `pid` is kept beside it only for the same-node shortcut of `ImportLease.isLive`.
public struct LeaseHolder: Sendable, Hashable, CustomStringConvertible {
    /// The node the process runs on (`node.id`). Empty in leases written before catalog migration 5, all by
    /// processes on the host of the SQLite file.
    public var node: String
    /// The holder's process id on its own node; informational (never part of the identity).
    public var pid: Int32
    /// 16 hex digits, random per process start.
    public var run: String

    public init(node: String, pid: Int32, run: String) {
        self.node = node
        self.pid = pid
        self.run = run
    }

    public static func == (a: LeaseHolder, b: LeaseHolder) -> Bool { a.node == b.node && a.run == b.run }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(node)
        hasher.combine(run)
    }

    public var description: String { "\(node.isEmpty ? "?" : node)/\(pid)/\(run.isEmpty ? "?" : run)" }

    /// This process: the configured node id, its pid and its run id.
    public static var current: LeaseHolder { LeaseHolder(node: localNode, pid: processID, run: processRun) }

    private static let processID = getpid()
    private static let processRun = Hex.encode(Crypto.randomBytes(8))

    /// This node's id: `node.id` once `useNode` set it, else the host name.
    public static var localNode: String { configuredNode.withLock { $0 } ?? hostName }

    /// Sets this process's node id (`node.id`). Called once at start, before the first lease is taken: a
    /// process that changed its id midway would no longer renew the leases it holds.
    public static func useNode(_ id: String) {
        configuredNode.withLock { $0 = id.isEmpty ? nil : id }
    }

    private static let configuredNode = Mutex<String?>(nil)

    /// This host's name (the default node id).
    public static let hostName: String = {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()

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

    /// A lease nobody holds: live on no node, and never renewed (its holder has pid 0 and no run id, so no
    /// heartbeat matches it). A URL import left for a server node to fetch and a tus upload between two
    /// PATCHes carry one, so their row is never without a lease row, yet any node may claim them at once.
    public static func released(now: Int64) -> ImportLease {
        ImportLease(
            holder: LeaseHolder(node: LeaseHolder.localNode, pid: 0, run: ""), heartbeat: now, expiresAt: now - 1)
    }

    /// Whether the holder must be presumed alive at `now`. Expiry in the catalog is the rule for every holder;
    /// a holder on another node is never probed. Only for a holder of this very node (same node id, so the
    /// same host and process table) a process that is gone is seen at once (`kill(pid, 0)` fails with
    /// ESRCH), and so is a pid that is now this very process under another run. Probing only ever shortens a
    /// lease: a reused pid still dies by expiry.
    public func isLive(now: Int64) -> Bool { isLive(now: now, localNode: LeaseHolder.localNode) }

    /// `isLive(now:)` as seen by a process of node `localNode`.
    func isLive(now: Int64, localNode: String) -> Bool {
        guard now <= expiresAt else { return false }
        guard holder.node.isEmpty || holder.node == localNode else { return true }
        let me = LeaseHolder.current
        if holder.pid == me.pid { return holder.run == me.run }
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
