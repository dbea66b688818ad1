//===----------------------------------------------------------------------===//
// ImageGate: versioned migrations: racing runners on an empty database, failed steps, foreign versions.
//===----------------------------------------------------------------------===//

import Dispatch
import Synchronization
import Testing

@testable import PostgresClient

@Suite(.enabled(if: TestDatabase.available, TestDatabase.skipMessage))
struct PostgresMigratorTests {
    /// Three steps; the first sleeps so that runners started together really overlap in it.
    static let steps = [
        PostgresMigration(
            version: 1, name: "images",
            sql: "SELECT pg_sleep(0.3); CREATE TABLE images (id text PRIMARY KEY, n int8 NOT NULL DEFAULT 0)"),
        PostgresMigration(version: 2, name: "tokens", sql: "CREATE TABLE tokens (serial text PRIMARY KEY)"),
        PostgresMigration(
            version: 3, name: "images.size",
            sql: """
                ALTER TABLE images ADD COLUMN size int8 NOT NULL DEFAULT 0;
                CREATE INDEX images_size ON images (size)
                """),
    ]

    @Test("four runners racing on an empty database: all succeed, each step is applied exactly once")
    func racingRunners() throws {
        try TestDatabase.withScratchDatabase { url in
            let migrator = try PostgresMigrator(migrations: Self.steps)
            let results = Mutex<[Result<[Int], any Error>]>([])
            let group = DispatchGroup()
            // Connect first, then start every runner at once from its own thread (a node each).
            let connections = try (0..<4).map { _ in try PostgresConnection(url: url) }
            let start = DispatchSemaphore(value: 0)
            for c in connections {
                let box = UncheckedBox(c)
                DispatchQueue.global().async(group: group) {
                    start.wait()
                    let r = Result { try migrator.migrate(box.value) }
                    results.withLock { $0.append(r) }
                }
            }
            for _ in connections { start.signal() }
            group.wait()

            let applied = try results.withLock { try $0.map { try $0.get() } }
            #expect(applied.count == 4)
            #expect(applied.flatMap { $0 }.sorted() == [1, 2, 3], "\(applied)")
            let check = try PostgresConnection(url: url)
            #expect(try migrator.appliedVersions(check).map(\.version) == [1, 2, 3])
            #expect(try check.query("SELECT count(*) FROM schema_migrations").single().int64(0) == 3)
            try check.query("INSERT INTO images (id, size) VALUES ('a', 5)")
            #expect(try migrator.migrate(check) == [], "a later start has nothing to do")
        }
    }

    @Test("a failing step is rolled back whole and stops the run; fixed, the next run continues from there")
    func failingStep() throws {
        try TestDatabase.withScratchDatabase { url in
            let c = try PostgresConnection(url: url)
            let broken =
                Array(Self.steps[0..<2]) + [
                    PostgresMigration(
                        version: 3, name: "images.size",
                        sql: "ALTER TABLE images ADD COLUMN size int8; CREATE INDEX broken ON nowhere (x)")
                ]
            #expect { try PostgresMigrator(migrations: broken).migrate(c) } throws: {
                ($0 as? PostgresError)?.sqlState == "42P01"
            }
            let migrator = try PostgresMigrator(migrations: Self.steps)
            #expect(try migrator.appliedVersions(c).map(\.version) == [1, 2])
            let sizeColumn =
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'images' AND column_name = 'size'"
            #expect(try c.query(composed: sizeColumn).single().int64(0) == 0, "step 3's first statement rolled back")
            #expect(try migrator.migrate(c) == [3])
            #expect(try c.query(composed: sizeColumn).single().int64(0) == 1)
            #expect(try c.tryAdvisoryLock(PostgresLockKey.migrations), "the lock is released after a failure too")
        }
    }

    @Test("a database migrated by a newer binary, or with a step of another name, is refused")
    func foreignVersions() throws {
        try TestDatabase.withScratchDatabase { url in
            let c = try PostgresConnection(url: url)
            try PostgresMigrator(migrations: Self.steps).migrate(c)
            #expect { try PostgresMigrator(migrations: Array(Self.steps[0..<2])).migrate(c) } throws: {
                ($0 as? PostgresError)?.message.contains("newer than this binary") == true
            }
            let renamed = [PostgresMigration(version: 1, name: "pictures", sql: "SELECT 1")] + Self.steps[1...]
            #expect { try PostgresMigrator(migrations: renamed).migrate(c) } throws: {
                ($0 as? PostgresError)?.message.contains("\"images\" in the database") == true
            }
        }
        #expect(throws: PostgresError.self) { try PostgresMigrator(migrations: Array(Self.steps[1...])) }
        #expect(throws: PostgresError.self) { try PostgresMigrator(migrations: Self.steps, table: "x; DROP") }
    }
}

/// Hands a connection to the one thread that uses it (the test gives each runner its own).
private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
