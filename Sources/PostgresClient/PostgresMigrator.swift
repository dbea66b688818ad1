//===----------------------------------------------------------------------===//
// ImageGate: versioned schema migrations, safe when several nodes start on one database at once.
//===----------------------------------------------------------------------===//

/// One schema step. `version`s start at 1 and increase by one; a released step is never edited or reordered
/// (append a new one), the same rule as the SQLite catalog's list (`Docs/catalog.md`).
public struct PostgresMigration: Sendable {
    public let version: Int
    public let name: String
    /// One or more statements, run as one script inside the migration's transaction.
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Brings a database up to the newest migration it knows.
///
/// Several nodes (or a node and the CLI) may start on the same empty database at the same moment: the runner
/// holds the advisory lock `lockKey` for the whole check-and-apply, so exactly one of them applies each step
/// and the others, once they get the lock, find nothing left to do. Each step runs in its own transaction
/// together with its row in the version table, so a crash or error mid-step leaves the previous version
/// intact and the step is tried again on the next start. PostgreSQL's DDL is transactional, which is what
/// makes this hold (https://wiki.postgresql.org/wiki/Transactional_DDL_in_PostgreSQL:_A_Competitive_Analysis).
public struct PostgresMigrator: Sendable {
    public let migrations: [PostgresMigration]
    /// The table that records applied versions (an identifier, not user input).
    public let table: String
    public let lockKey: Int64

    public init(
        migrations: [PostgresMigration], table: String = "schema_migrations",
        lockKey: Int64 = PostgresLockKey.migrations
    ) throws(PostgresError) {
        for (i, m) in migrations.enumerated() where m.version != i + 1 {
            throw .misuse("migration versions must be 1, 2, 3, …: position \(i + 1) has version \(m.version)")
        }
        guard PostgresIdentifier.isPlain(table) else {
            throw .misuse("the migrations table name must be a lower-case SQL identifier")
        }
        self.migrations = migrations
        self.table = table
        self.lockKey = lockKey
    }

    /// Applies every migration the database does not have yet and returns the versions this call applied
    /// (empty when another process got there first). Throws `misuse` if the database has a version this list
    /// does not know (a newer binary migrated it: run the newer binary) or a step whose name differs.
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws -> [Int] {
        try connection.withAdvisoryLock(lockKey) { () throws -> [Int] in
            try connection.execute(
                script: """
                    CREATE TABLE IF NOT EXISTS \(table) (
                        version    integer PRIMARY KEY,
                        name       text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """)
            let applied = try appliedVersions(connection)
            for (version, name) in applied {
                guard version <= migrations.count else {
                    throw PostgresError.misuse(
                        "the catalog schema is at version \(applied.last?.version ?? version), newer than this "
                            + "binary knows (\(migrations.count)): run the newer imagegate")
                }
                guard migrations[version - 1].name == name else {
                    throw PostgresError.misuse(
                        "catalog migration \(version) is \"\(name)\" in the database but "
                            + "\"\(migrations[version - 1].name)\" here")
                }
            }
            var done: [Int] = []
            for m in migrations.dropFirst(applied.count) {
                try connection.transaction { _ in
                    try connection.execute(script: m.sql)
                    try connection.query(
                        composed: "INSERT INTO \(table) (version, name) VALUES ($1, $2)",
                        [.int(m.version), .text(m.name)])
                }
                done.append(m.version)
            }
            return done
        }
    }

    /// The recorded versions in order, with their names.
    public func appliedVersions(
        _ connection: PostgresConnection
    ) throws(PostgresError) -> [(version: Int, name: String)] {
        let rows = try connection.query(composed: "SELECT version, name FROM \(table) ORDER BY version")
        var out: [(version: Int, name: String)] = []
        for (i, row) in rows.rows.enumerated() {
            let v = Int(try row.int64(0))
            guard v == i + 1 else { throw PostgresError.misuse("the migrations table has a gap before version \(v)") }
            out.append((v, try row.string(1)))
        }
        return out
    }
}
