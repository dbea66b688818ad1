//===----------------------------------------------------------------------===//
// ImageGate: the SQLite catalog's shared state: documents, task leases, console sessions (migration 6).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension SQLiteCatalogStore {
    // MARK: Documents

    public func document(_ name: String) throws(GateError) -> SharedDocument? {
        try withConnection { db throws(GateError) in try Self.fetchDocument(db, name) }
    }

    public func putDocument(_ name: String, body: String, expectedVersion: Int64?) throws(GateError)
        -> SharedDocumentWrite
    {
        let now = clock.now()
        return try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) -> SharedDocumentWrite in
                let current = try Self.fetchDocument(db, name)
                guard current?.version == expectedVersion else {
                    // Lost the race (or a stale expectation): report what is there. A document that does not
                    // exist while a version was expected cannot be "won" either.
                    if let current { return SharedDocumentWrite(document: current, written: false) }
                    throw GateError(.conflict, "shared document '\(name)' does not exist")
                }
                let next = (expectedVersion ?? 0) + 1
                let stmt = try db.prepare(
                    """
                    INSERT INTO shared_documents (name, body, version, updated_at) VALUES (?1, ?2, ?3, ?4)
                    ON CONFLICT (name) DO UPDATE SET body = excluded.body, version = excluded.version,
                        updated_at = excluded.updated_at
                    """)
                try stmt.bind(1, name)
                try stmt.bind(2, body)
                try stmt.bind(3, next)
                try stmt.bind(4, now)
                try stmt.step()
                return SharedDocumentWrite(
                    document: SharedDocument(name: name, body: body, version: next, updatedAt: now), written: true)
            }
        }
    }

    private static func fetchDocument(_ db: SQLiteConnection, _ name: String) throws(GateError) -> SharedDocument? {
        let stmt = try db.prepare("SELECT body, version, updated_at FROM shared_documents WHERE name = ?1")
        try stmt.bind(1, name)
        guard try stmt.step() else { return nil }
        return SharedDocument(name: name, body: stmt.string(0), version: stmt.int64(1), updatedAt: stmt.int64(2))
    }

    // MARK: Task leases

    public func claimTask(_ name: String, holder: String, now: Int64, expiresAt: Int64) throws(GateError) -> Bool {
        try withConnection { db throws(GateError) in
            // One statement: the conflict branch only replaces an expired lease or the holder's own.
            let stmt = try db.prepare(
                """
                INSERT INTO task_leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE task_leases.holder = excluded.holder OR task_leases.expires_at <= ?4
                """)
            try stmt.bind(1, name)
            try stmt.bind(2, holder)
            try stmt.bind(3, expiresAt)
            try stmt.bind(4, now)
            try stmt.step()
            return db.changes > 0
        }
    }

    public func releaseTask(_ name: String, holder: String) throws(GateError) {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare("DELETE FROM task_leases WHERE name = ?1 AND holder = ?2")
            try stmt.bind(1, name)
            try stmt.bind(2, holder)
            try stmt.step()
        }
    }

    // MARK: Console sessions

    public func insertConsoleSession(_ s: ConsoleSessionRecord) throws(GateError) {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                INSERT INTO console_sessions (digest, key_id, account_id, csrf_token, created_at, last_seen)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                """)
            try stmt.bind(1, s.digest)
            try stmt.bind(2, s.keyID)
            try stmt.bind(3, s.accountID)
            try stmt.bind(4, s.csrfToken)
            try stmt.bind(5, s.createdAt)
            try stmt.bind(6, s.lastSeen)
            try stmt.step()
        }
    }

    public func consoleSession(digest: String) throws(GateError) -> ConsoleSessionRecord? {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                SELECT key_id, account_id, csrf_token, created_at, last_seen FROM console_sessions
                WHERE digest = ?1
                """)
            try stmt.bind(1, digest)
            guard try stmt.step() else { return nil }
            return ConsoleSessionRecord(
                digest: digest, keyID: stmt.string(0), accountID: stmt.string(1), csrfToken: stmt.string(2),
                createdAt: stmt.int64(3), lastSeen: stmt.int64(4))
        }
    }

    @discardableResult
    public func touchConsoleSession(digest: String, lastSeen: Int64) throws(GateError) -> Bool {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                "UPDATE console_sessions SET last_seen = max(last_seen, ?2) WHERE digest = ?1")
            try stmt.bind(1, digest)
            try stmt.bind(2, lastSeen)
            try stmt.step()
            return db.changes > 0
        }
    }

    public func removeConsoleSession(digest: String) throws(GateError) {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare("DELETE FROM console_sessions WHERE digest = ?1")
            try stmt.bind(1, digest)
            try stmt.step()
        }
    }

    @discardableResult
    public func removeConsoleSessions(idleBefore: Int64, createdBefore: Int64, keyID: String?) throws(GateError)
        -> Int
    {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                DELETE FROM console_sessions
                WHERE last_seen < ?1 OR created_at < ?2 OR (?3 IS NOT NULL AND key_id = ?3)
                """)
            try stmt.bind(1, idleBefore)
            try stmt.bind(2, createdBefore)
            try stmt.bind(3, keyID)
            try stmt.step()
            return db.changes
        }
    }
}
