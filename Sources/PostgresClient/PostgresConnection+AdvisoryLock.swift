//===----------------------------------------------------------------------===//
// ImageGate: session advisory locks, so that one node at a time does a cluster-wide job (migrations).
//===----------------------------------------------------------------------===//

/// Keys of the advisory locks ImageGate takes. One 64-bit space per database, shared with anything else that
/// uses advisory locks there, hence keys that spell something instead of small numbers.
public enum PostgresLockKey {
    /// Held while schema migrations run. ASCII "IGMIGRAT".
    public static let migrations: Int64 = 0x4947_4D49_4752_4154
}

extension PostgresConnection {
    /// Runs `body` while holding the session advisory lock `key` (`pg_advisory_lock`,
    /// https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS): other sessions asking for
    /// the same key wait until it is released. Waits as long as the holder holds it (bounded only by the
    /// session's `lock_timeout`). The lock is released when `body` returns or throws, and by the server
    /// if this connection dies, so a node killed mid-job never leaves it taken.
    public func withAdvisoryLock<T>(_ key: Int64, _ body: () throws -> T) throws -> T {
        try query("SELECT pg_advisory_lock($1::int8)", [.int(key)])
        let result: T
        do {
            result = try body()
        } catch {
            if isConnected { _ = try? unlockAdvisory(key) }
            throw error
        }
        guard try unlockAdvisory(key) else {
            throw PostgresError.misuse("advisory lock \(key) was not held at release")
        }
        return result
    }

    /// Takes the lock only if it is free (`pg_try_advisory_lock`); true when taken. Release with
    /// `unlockAdvisory`.
    public func tryAdvisoryLock(_ key: Int64) throws(PostgresError) -> Bool {
        try query("SELECT pg_try_advisory_lock($1::int8)", [.int(key)]).single().bool(0)
    }

    /// Releases one hold of the session lock `key`; false if this session did not hold it.
    @discardableResult
    public func unlockAdvisory(_ key: Int64) throws(PostgresError) -> Bool {
        try query("SELECT pg_advisory_unlock($1::int8)", [.int(key)]).single().bool(0)
    }
}
