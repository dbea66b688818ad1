//===----------------------------------------------------------------------===//
// ImageGate: the real PostgreSQL the server tests run against (IMAGEGATE_TEST_PG_URL), and scratch objects.
//===----------------------------------------------------------------------===//

import Glibc
import PostgresClient
import Testing

/// The test cluster. `scripts/test.sh` starts one with `scripts/pg-cluster.sh` and exports its URL; by hand:
///     d=$(mktemp -d); export IMAGEGATE_TEST_PG_URL=$(scripts/pg-cluster.sh start $d)
///     swift test --filter PostgresClientTests; scripts/pg-cluster.sh stop $d
enum TestDatabase {
    static let urlText: String? = getenv("IMAGEGATE_TEST_PG_URL").map { String(cString: $0) }
    static var available: Bool { urlText.map { !$0.isEmpty } ?? false }
    static let skipMessage: Comment = """
        IMAGEGATE_TEST_PG_URL unset: run scripts/test.sh, or start a cluster with scripts/pg-cluster.sh start DIR \
        and export its URL
        """

    static var url: PostgresURL {
        // Only reached when `available`: a malformed URL is a broken test setup, worth a crash with the reason.
        do { return try PostgresURL(urlText ?? "") } catch { fatalError("IMAGEGATE_TEST_PG_URL: \(error)") }
    }

    static func connect() throws -> PostgresConnection { try PostgresConnection(url: url) }

    /// A fresh lower-case identifier (tests run in parallel against one database).
    static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Runs `body` against a new empty database, dropped afterwards (also when `body` throws).
    static func withScratchDatabase<T>(_ body: (PostgresURL) throws -> T) throws -> T {
        let admin = try connect()
        let name = uniqueName("scratch")
        try admin.query(composed: "CREATE DATABASE \(name)")
        defer { _ = try? admin.query(composed: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        return try body(url.withDatabase(name))
    }

    /// Terminates the server session `pid` and waits until it has left `pg_stat_activity`, so the next use of
    /// that session meets a dead backend (not a still-running one). Gives up after 30 s.
    static func terminate(pid: Int32, using admin: PostgresConnection) throws {
        try admin.query("SELECT pg_terminate_backend($1)", [.int(Int64(pid))])
        for _ in 0..<3000 {
            let left = try admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [.int(Int64(pid))])
            if try left.single().int64(0) == 0 { return }
            usleep(10_000)
        }
        throw PostgresError(.misuse, "backend \(pid) did not exit")
    }
}
