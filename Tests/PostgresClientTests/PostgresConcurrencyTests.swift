//===----------------------------------------------------------------------===//
// ImageGate: several threads at once: a deadlock resolved by retry, a pool shared by more threads than it has
// connections.
//===----------------------------------------------------------------------===//

import Dispatch
import Synchronization
import Testing

@testable import PostgresClient

@Suite(.enabled(if: TestDatabase.available, TestDatabase.skipMessage))
struct PostgresConcurrencyTests {
    /// Two transactions lock rows 1 and 2 in opposite orders; a barrier after their first update makes the
    /// deadlock certain. The server aborts one with 40P01 (after `deadlock_timeout`, 1 s by default); the
    /// wrapper runs it again once the other has committed, so both increments land.
    @Test("deadlock (40P01): the victim's transaction runs again and both commit")
    func deadlockRetry() throws {
        let setup = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("dl")
        try setup.query(composed: "CREATE TABLE \(table) (id int PRIMARY KEY, n int8 NOT NULL)")
        try setup.query(composed: "INSERT INTO \(table) VALUES (1, 0), (2, 0)")
        defer { _ = try? setup.query(composed: "DROP TABLE \(table)") }

        let arrived = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let attempts = Mutex<[[Int]]>([[], []])
        let errors = Mutex<[String]>([])
        let group = DispatchGroup()
        for (me, order) in [[1, 2], [2, 1]].enumerated() {
            DispatchQueue.global().async(group: group) {
                do {
                    let c = try TestDatabase.connect()
                    try c.transaction { attempt in
                        attempts.withLock { $0[me].append(attempt) }
                        try c.query(composed: "UPDATE \(table) SET n = n + 1 WHERE id = $1", [.int(order[0])])
                        if attempt == 1 {
                            arrived[me].signal()
                            arrived[1 - me].wait()
                        }
                        try c.query(composed: "UPDATE \(table) SET n = n + 1 WHERE id = $1", [.int(order[1])])
                    }
                } catch {
                    errors.withLock { $0.append("\(error)") }
                }
            }
        }
        group.wait()
        #expect(errors.withLock { $0 } == [])
        let tries = attempts.withLock { $0 }.sorted { $0.count < $1.count }
        #expect(tries == [[1], [1, 2]], "exactly one victim, run twice")
        let n = try setup.query(composed: "SELECT n FROM \(table) ORDER BY id").rows.map { try $0.int64(0) }
        #expect(n == [2, 2])
    }

    @Test("eight threads share a pool of three: never more than three sessions, every borrow served")
    func sharedPool() throws {
        let pool = try PostgresPool(
            url: TestDatabase.url, configuration: .init(maxConnections: 3, acquireTimeoutMilliseconds: 60_000))
        defer { pool.close() }
        let lent = Mutex((now: 0, most: 0, pids: Set<Int32>()))
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for _ in 0..<8 {
            DispatchQueue.global().async(group: group) {
                for i in 0..<20 {
                    do {
                        let v = try pool.withConnection { c in
                            lent.withLock {
                                $0.now += 1
                                $0.most = max($0.most, $0.now)
                                $0.pids.insert(c.backendPID)
                            }
                            defer { lent.withLock { $0.now -= 1 } }
                            return try c.query("SELECT $1::int8 * 2", [.int(i)]).single().int64(0)
                        }
                        if v != Int64(i * 2) { failures.withLock { $0.append("wrong answer \(v)") } }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
        }
        group.wait()
        #expect(failures.withLock { $0 } == [])
        let seen = lent.withLock { $0 }
        #expect(seen.most <= 3 && seen.pids.count <= 3 && pool.openConnections <= 3)
    }
}
