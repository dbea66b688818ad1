//===----------------------------------------------------------------------===//
// ImageGate: a bounded pool of PostgreSQL connections for dedicated threads.
//===----------------------------------------------------------------------===//
import Dispatch
import GateCore
import Synchronization

/// At most `maxConnections` sessions to one database, opened on demand and lent to one borrower at a time.
///
/// `withConnection` blocks the calling thread: while waiting for a free connection (up to `acquireTimeout`)
/// and for every statement. Call it from dedicated threads only (`OSThread`s, event-loop threads for short
/// lookups, `DispatchQueue`s), **never from a Swift task**: a blocked cooperative-pool thread stalls every
/// task behind it, and a pool that waits there for a connection held by another task can deadlock.
///
/// Health: a connection that broke while lent (`connectionLost`) or comes back inside a transaction is closed,
/// not returned. Before lending an idle one, the pool checks it without a round trip (`idleCheck`): if the
/// server has sent something to an idle session (the FATAL notice of `pg_terminate_backend`, a restart) or it
/// sat idle longer than `validateAfterIdle`, it is pinged, and a failed ping means a fresh connection instead.
/// So after a PostgreSQL restart or a failover, the first borrower gets a working session, not an error.
public final class PostgresPool: Sendable {
    public struct Configuration: Sendable {
        public var maxConnections: Int
        /// How long `withConnection` waits for a free connection before `poolTimeout`.
        public var acquireTimeoutMilliseconds: Int
        /// An idle connection older than this is pinged before it is lent (0: always).
        public var validateAfterIdleMilliseconds: Int64

        public init(
            maxConnections: Int = 8, acquireTimeoutMilliseconds: Int = 5000,
            validateAfterIdleMilliseconds: Int64 = 30_000
        ) {
            self.maxConnections = maxConnections
            self.acquireTimeoutMilliseconds = acquireTimeoutMilliseconds
            self.validateAfterIdleMilliseconds = validateAfterIdleMilliseconds
        }
    }

    /// An idle connection and when it was returned.
    private final class Slot: @unchecked Sendable {
        // Safe to share: a slot is only in `State.idle` (touched under the lock) or held by the one thread
        // that took it out; the connection is never used by two threads at once.
        let connection: PostgresConnection
        var idleSince: Int64
        init(_ connection: PostgresConnection) {
            self.connection = connection
            idleSince = Monotonic.milliseconds()
        }
    }

    private struct State {
        var idle: [Slot] = []
        var open = 0
        var closed = false
    }

    public let url: PostgresURL
    public let configuration: Configuration
    /// One permit per connection that may exist; a borrower holds one from acquire to return.
    private let permits: DispatchSemaphore
    private let state = Mutex(State())

    public init(url: PostgresURL, configuration: Configuration = Configuration()) throws(PostgresError) {
        guard configuration.maxConnections >= 1 else { throw .misuse("a pool needs at least one connection") }
        self.url = url
        self.configuration = configuration
        permits = DispatchSemaphore(value: configuration.maxConnections)
    }

    /// Connections currently open (idle and lent).
    public var openConnections: Int { state.withLock { $0.open } }
    public var idleConnections: Int { state.withLock { $0.idle.count } }

    /// Lends a connection to `body` and takes it back afterwards. Throws `poolTimeout` when none becomes
    /// free in time, `poolClosed` after `close()`, a connection error when a new session cannot be opened,
    /// and whatever `body` throws.
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard !state.withLock({ $0.closed }) else { throw PostgresError(.poolClosed, "the catalog pool is closed") }
        let deadline = DispatchTime.now() + .milliseconds(configuration.acquireTimeoutMilliseconds)
        guard permits.wait(timeout: deadline) == .success else {
            throw PostgresError(
                .poolTimeout,
                "no catalog connection free within \(configuration.acquireTimeoutMilliseconds) ms "
                    + "(all \(configuration.maxConnections) in use)")
        }
        defer { permits.signal() }
        let slot = try checkOut()
        let result: T
        do {
            result = try body(slot.connection)
        } catch {
            checkIn(slot)
            throw error
        }
        checkIn(slot)
        return result
    }

    /// Closes the idle connections and makes later `withConnection` calls fail; lent connections are closed
    /// when they come back.
    public func close() {
        let idle = state.withLock { s in
            s.closed = true
            let idle = s.idle
            s.idle = []
            s.open -= idle.count
            return idle
        }
        idle.forEach { $0.connection.close() }
    }

    // MARK: Lending

    private func checkOut() throws(PostgresError) -> Slot {
        while let slot = state.withLock({ $0.idle.popLast() }) {  // the most recently used first: warmest
            if usable(slot) { return slot }
            slot.connection.close()
            state.withLock { $0.open -= 1 }
        }
        // Closed while this borrower waited for a permit: open nothing new.
        guard !state.withLock({ $0.closed }) else { throw PostgresError(.poolClosed, "the catalog pool is closed") }
        let connection = try PostgresConnection(url: url)
        state.withLock { $0.open += 1 }
        return Slot(connection)
    }

    private func usable(_ slot: Slot) -> Bool {
        let idleFor = Monotonic.milliseconds() - slot.idleSince
        switch slot.connection.idleCheck() {
        case .broken: return false
        case .quiet where idleFor < configuration.validateAfterIdleMilliseconds: return true
        case .quiet, .readSomething: return (try? slot.connection.ping()) != nil
        }
    }

    private func checkIn(_ slot: Slot) {
        let keep = slot.connection.isConnected && !slot.connection.isInTransaction
        slot.idleSince = Monotonic.milliseconds()
        let stored = state.withLock { s in
            guard keep, !s.closed else {
                s.open -= 1
                return false
            }
            s.idle.append(slot)
            return true
        }
        if !stored { slot.connection.close() }
    }
}
