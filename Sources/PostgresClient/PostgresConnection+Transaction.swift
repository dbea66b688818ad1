//===----------------------------------------------------------------------===//
// ImageGate: transactions that run again on serialization failure or deadlock.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// The isolation level of a transaction (https://www.postgresql.org/docs/15/transaction-iso.html).
public enum PostgresIsolation: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

extension PostgresConnection {
    /// Runs `body` inside `BEGIN … COMMIT` and returns its result. Any error rolls the transaction back and
    /// is rethrown. A serialization failure (40001) or deadlock (40P01), raised by a statement or by COMMIT,
    /// runs the whole `body` again, up to `attempts` times in all, after a short randomized pause; the last
    /// conflict is thrown when attempts run out. `body` therefore must do nothing but database work that can
    /// be repeated (no sending mail, no counting outside), and it learns the attempt number (1, 2, ...).
    ///
    /// A connection lost mid-transaction is not retried: if it broke during COMMIT, whether the transaction
    /// committed is unknown, and only the caller can tell whether doing it again is safe.
    public func transaction<T>(
        _ isolation: PostgresIsolation = .readCommitted, attempts: Int = 5,
        _ body: (_ attempt: Int) throws -> T
    ) throws -> T {
        guard attempts >= 1 else { throw PostgresError.misuse("a transaction needs at least one attempt") }
        guard !isInTransaction else { throw PostgresError.misuse("a transaction is already open on this connection") }
        var attempt = 1
        while true {
            do {
                try execute(script: "BEGIN ISOLATION LEVEL \(isolation.rawValue)")
                let result = try body(attempt)
                // COMMIT of a transaction in which a statement failed quietly rolls back and reports success:
                // a body that caught an error and carried on must not be told it committed.
                guard !isInFailedTransaction else {
                    throw PostgresError.misuse("a statement failed inside the transaction; it was rolled back")
                }
                try execute(script: "COMMIT")
                return result
            } catch {
                // After a failed COMMIT the server has already ended the transaction; ROLLBACK then only warns.
                if isConnected && isInTransaction { try? execute(script: "ROLLBACK") }
                guard let pg = error as? PostgresError, pg.isTransactionConflict, attempt < attempts else {
                    throw error
                }
                Self.backOff(attempt: attempt)
                attempt += 1
            }
        }
    }

    /// Sleeps 1–2 ms the first time, doubling up to 64–128 ms: two transactions that collided are unlikely to
    /// collide again once they start at different moments.
    static func backOff(attempt: Int) {
        let base = UInt32(1000) << UInt32(min(attempt - 1, 6))
        usleep(base + UInt32.random(in: 0..<base))
    }
}
