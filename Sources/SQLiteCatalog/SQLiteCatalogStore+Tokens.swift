//===----------------------------------------------------------------------===//
// ImageGate: SQLite store, token issue records and the revoked-serial deny-list.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension SQLiteCatalogStore {
    public func recordTokenIssue(_ issue: TokenIssue) throws(GateError) {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                INSERT INTO token_issues (serial, image_id, tenant, issued_at, expires_at, protocols, minter,
                    file_name)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """)
            try stmt.bind(1, issue.serial.hex)
            try stmt.bind(2, issue.image.description)
            try stmt.bind(3, issue.tenant.description)
            try stmt.bind(4, issue.issuedAt)
            try stmt.bind(5, issue.expiresAt)
            try stmt.bind(6, Int64(issue.protocols))
            try stmt.bind(7, issue.minter)
            try stmt.bind(8, issue.fileName)
            try stmt.step()
        }
    }

    /// Read-through on every call: one indexed lookup, cheap next to a download, and never stale
    /// (Docs/protocols.md §3.5 allows up to 5 s of caching; callers may add a cache on top).
    public func isRevoked(serial: ID128) throws(GateError) -> Bool {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare("SELECT 1 FROM revoked_serials WHERE serial = ?1")
            try stmt.bind(1, serial.hex)
            return try stmt.step()
        }
    }

    public func revoke(serial: ID128, expiresAt: Int64) throws(GateError) {
        let horizon = clock.now() - Self.revocationSkewSeconds
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) in
                // Keep the later expiry if the serial was already revoked.
                let insert = try db.prepare(
                    """
                    INSERT INTO revoked_serials (serial, expires_at) VALUES (?1, ?2)
                    ON CONFLICT (serial) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)
                    """)
                try insert.bind(1, serial.hex)
                try insert.bind(2, expiresAt)
                try insert.step()
                // Tokens past expiry plus skew fail verification anyway; their entries only cost space.
                let prune = try db.prepare("DELETE FROM revoked_serials WHERE expires_at < ?1 AND serial <> ?2")
                try prune.bind(1, horizon)
                try prune.bind(2, serial.hex)
                try prune.step()
            }
        }
    }
}
