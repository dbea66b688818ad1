//===----------------------------------------------------------------------===//
// ImageGate: the connection pool: bounded, timing out when exhausted, healing after a lost session.
//===----------------------------------------------------------------------===//

import GateCore
import Testing

@testable import PostgresClient

@Suite(.enabled(if: TestDatabase.available, TestDatabase.skipMessage))
struct PostgresPoolTests {
    private func pool(_ size: Int, timeoutMs: Int = 200, validateAfterIdleMs: Int64 = 30_000) throws -> PostgresPool {
        try PostgresPool(
            url: TestDatabase.url,
            configuration: .init(
                maxConnections: size, acquireTimeoutMilliseconds: timeoutMs,
                validateAfterIdleMilliseconds: validateAfterIdleMs))
    }

    @Test("at most maxConnections sessions; the next borrower gets poolTimeout, and a connection once one is back")
    func exhaustion() throws {
        let p = try pool(2)
        defer { p.close() }
        var pids: Set<Int32> = []
        try p.withConnection { first in
            pids.insert(first.backendPID)
            try p.withConnection { second in
                pids.insert(second.backendPID)
                #expect(p.openConnections == 2)
                #expect {
                    try p.withConnection { _ in }
                } throws: { error in
                    let e = error as? PostgresError
                    return e?.kind == .poolTimeout && e?.message.contains("all 2 in use") == true
                }
            }
            // One is back: borrowing works again and reuses an open session instead of opening a third.
            try p.withConnection { again in #expect(pids.contains(again.backendPID)) }
        }
        #expect(pids.count == 2 && p.openConnections == 2 && p.idleConnections == 2)
        p.close()
        #expect(p.openConnections == 0)
        #expect { try p.withConnection { _ in } } throws: { ($0 as? PostgresError)?.kind == .poolClosed }
    }

    @Test("an idle session killed by pg_terminate_backend is replaced before it is lent (validate on checkout)")
    func reconnectAfterTerminate() throws {
        let admin = try TestDatabase.connect()
        for validateAfter in [Int64(0), 30_000] {
            let p = try pool(1, validateAfterIdleMs: validateAfter)
            defer { p.close() }
            let before = try p.withConnection { $0.backendPID }
            try TestDatabase.terminate(pid: before, using: admin)
            // The dead session's FATAL message and EOF are waiting on its socket; the pool must notice.
            let after = try p.withConnection { c in
                try c.query("SELECT pg_backend_pid()").single().int64(0)
            }
            #expect(after != Int64(before), "validateAfterIdle \(validateAfter)")
            #expect(p.openConnections == 1)
        }
    }

    @Test("a session lost while lent: the borrower sees connectionLost, the pool drops it and the next gets a new one")
    func lostWhileLent() throws {
        let admin = try TestDatabase.connect()
        let p = try pool(1)
        defer { p.close() }
        var killed: Int32 = 0
        #expect {
            try p.withConnection { c in
                killed = c.backendPID
                try TestDatabase.terminate(pid: killed, using: admin)
                try c.query("SELECT 1")
            }
        } throws: { error in
            (error as? PostgresError)?.kind == .connectionLost && (error as? PostgresError)?.gateError.code == .io
        }
        #expect(p.openConnections == 0)
        let pid = try p.withConnection { $0.backendPID }
        #expect(pid != killed && pid != 0)
    }

    @Test("a connection returned inside an open transaction is closed, never lent half-done")
    func returnedInTransaction() throws {
        let p = try pool(1)
        defer { p.close() }
        let first = try p.withConnection { c in
            try c.execute(script: "BEGIN")
            return c.backendPID
        }
        #expect(p.openConnections == 0)
        let second = try p.withConnection { c in
            #expect(!c.isInTransaction)
            return c.backendPID
        }
        #expect(second != first)
    }
}
