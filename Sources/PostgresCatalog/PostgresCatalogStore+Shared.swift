//===----------------------------------------------------------------------===//
// ImageGate: PostgreSQL store, shared state: documents, task leases, console sessions.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import PostgresClient

extension PostgresCatalogStore {
    // MARK: Documents

    public func document(_ name: String) throws(GateError) -> SharedDocument? {
        try withConnection { c in try Self.fetchDocument(c, name) }
    }

    public func putDocument(_ name: String, body: String, expectedVersion: Int64?) throws(GateError)
        -> SharedDocumentWrite
    {
        let now = clock.now()
        return try inTransaction { c in
            // Each branch is one statement that only writes when the stored version is the expected one: two
            // nodes racing both reach the row, the second waits for the first's COMMIT and then finds the
            // version changed (ON CONFLICT DO NOTHING / a WHERE that no longer matches), so only one wins.
            let written: PostgresRows
            if let expected = expectedVersion {
                written = try c.query(
                    """
                    UPDATE shared_documents SET body = $2, version = $3 + 1, updated_at = $4
                    WHERE name = $1 AND version = $3 RETURNING version
                    """, [.text(name), .text(body), .int(expected), .int(now)])
            } else {
                written = try c.query(
                    """
                    INSERT INTO shared_documents (name, body, version, updated_at) VALUES ($1, $2, 1, $3)
                    ON CONFLICT (name) DO NOTHING RETURNING version
                    """, [.text(name), .text(body), .int(now)])
            }
            if let row = written.first {
                return SharedDocumentWrite(
                    document: SharedDocument(name: name, body: body, version: try row.int64(0), updatedAt: now),
                    written: true)
            }
            // Lost the race (or a stale expectation): report what is there. A document that does not exist
            // while a version was expected cannot be "won" either.
            guard let current = try Self.fetchDocument(c, name) else {
                throw GateError(.conflict, "shared document '\(name)' does not exist")
            }
            return SharedDocumentWrite(document: current, written: false)
        }
    }

    private static func fetchDocument(_ c: PostgresConnection, _ name: String) throws -> SharedDocument? {
        guard
            let row = try c.query(
                "SELECT body, version, updated_at FROM shared_documents WHERE name = $1", [.text(name)]
            ).first
        else { return nil }
        return SharedDocument(
            name: name, body: try row.string(0), version: try row.int64(1), updatedAt: try row.int64(2))
    }

    // MARK: Task leases

    public func claimTask(_ name: String, holder: String, now: Int64, expiresAt: Int64) throws(GateError) -> Bool {
        try inTransaction { c in
            // One statement: the conflict branch only replaces an expired lease or the holder's own. A second
            // node inserting at the same moment waits on the row and re-checks the WHERE against the winner's.
            try !c.query(
                """
                INSERT INTO task_leases (name, holder, expires_at) VALUES ($1, $2, $3)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE task_leases.holder = excluded.holder OR task_leases.expires_at <= $4
                RETURNING holder
                """, [.text(name), .text(holder), .int(expiresAt), .int(now)]
            ).isEmpty
        }
    }

    public func releaseTask(_ name: String, holder: String) throws(GateError) {
        try inTransaction { c in
            try c.query("DELETE FROM task_leases WHERE name = $1 AND holder = $2", [.text(name), .text(holder)])
        }
    }

    // MARK: Console sessions

    public func insertConsoleSession(_ s: ConsoleSessionRecord) throws(GateError) {
        try inTransaction { c in
            try c.query(
                """
                INSERT INTO console_sessions (digest, key_id, account_id, csrf_token, created_at, last_seen)
                VALUES ($1, $2, $3, $4, $5, $6)
                """,
                [
                    .text(s.digest), .text(s.keyID), .text(s.accountID), .text(s.csrfToken), .int(s.createdAt),
                    .int(s.lastSeen),
                ])
        }
    }

    public func consoleSession(digest: String) throws(GateError) -> ConsoleSessionRecord? {
        try withConnection { c in
            guard
                let row = try c.query(
                    """
                    SELECT key_id, account_id, csrf_token, created_at, last_seen FROM console_sessions WHERE digest = $1
                    """, [.text(digest)]
                ).first
            else { return nil }
            return ConsoleSessionRecord(
                digest: digest, keyID: try row.string(0), accountID: try row.string(1), csrfToken: try row.string(2),
                createdAt: try row.int64(3), lastSeen: try row.int64(4))
        }
    }

    @discardableResult
    public func touchConsoleSession(digest: String, lastSeen: Int64) throws(GateError) -> Bool {
        try inTransaction { c in
            try c.query(
                "UPDATE console_sessions SET last_seen = greatest(last_seen, $2) WHERE digest = $1",
                [.text(digest), .int(lastSeen)]
            ).affectedRows > 0
        }
    }

    public func removeConsoleSession(digest: String) throws(GateError) {
        try inTransaction { c in try c.query("DELETE FROM console_sessions WHERE digest = $1", [.text(digest)]) }
    }

    @discardableResult
    public func removeConsoleSessions(idleBefore: Int64, createdBefore: Int64, keyID: String?) throws(GateError)
        -> Int
    {
        try inTransaction { c in
            try c.query(
                """
                DELETE FROM console_sessions
                WHERE last_seen < $1 OR created_at < $2 OR ($3::text IS NOT NULL AND key_id = $3)
                """, [.int(idleBefore), .int(createdBefore), .text(keyID)]
            ).affectedRows
        }
    }
}
