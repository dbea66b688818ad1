//===----------------------------------------------------------------------===//
// ImageGate: transactions (commit, rollback, retry on serialization failure) and advisory locks.
//===----------------------------------------------------------------------===//

import Testing

@testable import PostgresClient

@Suite(.enabled(if: TestDatabase.available, TestDatabase.skipMessage))
struct PostgresTransactionTests {
    /// A table with one counter row (id 1, n 0), dropped by the caller's defer.
    private func counterTable(_ c: PostgresConnection) throws -> String {
        let table = TestDatabase.uniqueName("tx")
        try c.query(composed: "CREATE TABLE \(table) (id int PRIMARY KEY, n int8 NOT NULL)")
        try c.query(composed: "INSERT INTO \(table) VALUES (1, 0)")
        return table
    }

    private func counter(_ c: PostgresConnection, _ table: String) throws -> Int64 {
        try c.query(composed: "SELECT n FROM \(table) WHERE id = 1").single().int64(0)
    }

    @Test("commit keeps the work; an error thrown by the body rolls all of it back and is rethrown")
    func commitAndRollback() throws {
        struct Abort: Error {}
        let c = try TestDatabase.connect()
        let table = try counterTable(c)
        defer { _ = try? c.query(composed: "DROP TABLE \(table)") }

        let r = try c.transaction { _ in
            try c.query(composed: "UPDATE \(table) SET n = n + 1 WHERE id = 1")
            return "done"
        }
        #expect(try r == "done" && counter(c, table) == 1)

        #expect(throws: Abort.self) {
            try c.transaction { _ in
                try c.query(composed: "UPDATE \(table) SET n = n + 100 WHERE id = 1")
                try c.query(composed: "INSERT INTO \(table) VALUES (2, 2)")
                throw Abort()
            }
        }
        #expect(try counter(c, table) == 1)
        #expect(try c.query(composed: "SELECT count(*) FROM \(table)").single().int64(0) == 1)
        #expect(!c.isInTransaction)
    }

    @Test("a statement error swallowed inside the body does not report a commit")
    func swallowedStatementError() throws {
        let c = try TestDatabase.connect()
        let table = try counterTable(c)
        defer { _ = try? c.query(composed: "DROP TABLE \(table)") }
        #expect {
            try c.transaction { _ in
                try c.query(composed: "UPDATE \(table) SET n = 5 WHERE id = 1")
                _ = try? c.query(composed: "INSERT INTO \(table) VALUES (1, 0)")  // unique violation, ignored
            }
        } throws: { ($0 as? PostgresError)?.kind == .misuse }
        #expect(try counter(c, table) == 0)
        #expect { try c.transaction { _ in try c.transaction { _ in } } } throws: {
            ($0 as? PostgresError)?.kind == .misuse
        }
    }

    /// Under SERIALIZABLE, `a` reads the row, then `b` commits a change to it: `a`'s update of that row must
    /// fail with 40001 ("could not serialize access due to concurrent update"). Deterministic on one thread.
    @Test("serialization failure (40001) runs the body again; the retried work lands on top of the other")
    func serializationRetry() throws {
        let a = try TestDatabase.connect()
        let b = try TestDatabase.connect()
        let table = try counterTable(a)
        defer { _ = try? a.query(composed: "DROP TABLE \(table)") }

        var attempts: [Int] = []
        let final = try a.transaction(.serializable) { attempt in
            attempts.append(attempt)
            let seen = try a.query(composed: "SELECT n FROM \(table) WHERE id = 1").single().int64(0)
            if attempt == 1 {
                try b.query(composed: "UPDATE \(table) SET n = n + 10 WHERE id = 1")  // autocommit, concurrent
            }
            try a.query(composed: "UPDATE \(table) SET n = $1 WHERE id = 1", [.int(seen + 1)])
            return seen + 1
        }
        #expect(attempts == [1, 2])
        #expect(try final == 11 && counter(b, table) == 11)

        // With one attempt only, the conflict itself comes out, typed, and nothing of `a` is left.
        #expect {
            try a.transaction(.serializable, attempts: 1) { _ in
                _ = try a.query(composed: "SELECT n FROM \(table) WHERE id = 1")
                try b.query(composed: "UPDATE \(table) SET n = 100 WHERE id = 1")
                try a.query(composed: "UPDATE \(table) SET n = -1 WHERE id = 1")
            }
        } throws: { error in
            let e = error as? PostgresError
            return e?.kind == .serializationFailure && e?.sqlState == "40001" && e?.isTransactionConflict == true
        }
        #expect(try counter(b, table) == 100 && !a.isInTransaction)
    }

    @Test("advisory lock: held for the body, invisible to others until released, released on throw")
    func advisoryLock() throws {
        struct Abort: Error {}
        let a = try TestDatabase.connect()
        let b = try TestDatabase.connect()
        let key = Int64.random(in: 1...Int64.max)
        let heldElsewhere = try a.withAdvisoryLock(key) { () throws -> Bool in try b.tryAdvisoryLock(key) }
        #expect(heldElsewhere == false)
        #expect(try b.tryAdvisoryLock(key) == true)
        try b.unlockAdvisory(key)
        #expect(throws: Abort.self) { try a.withAdvisoryLock(key) { throw Abort() } }
        #expect(try b.tryAdvisoryLock(key) == true, "released after the body threw")
        // A session that dies releases its locks: the server does it, no node can leave one behind.
        let admin = try TestDatabase.connect()
        try TestDatabase.terminate(pid: b.backendPID, using: admin)
        #expect(try a.tryAdvisoryLock(key) == true)
    }
}
