//===----------------------------------------------------------------------===//
// ImageGate: PostgreSQL store, token issue records and the revoked-serial deny-list.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import PostgresClient

extension PostgresCatalogStore {
    public func recordTokenIssue(_ issue: TokenIssue) throws(GateError) {
        try inTransaction { c in
            try c.query(
                """
                INSERT INTO token_issues (serial, image_id, tenant, issued_at, expires_at, protocols, minter, file_name)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """,
                [
                    .text(issue.serial.hex), .text(issue.image.description), .text(issue.tenant.description),
                    .int(issue.issuedAt), .int(issue.expiresAt), .int(Int64(issue.protocols)), .text(issue.minter),
                    .text(issue.fileName),
                ])
        }
    }

    public func tokenIssue(serial: ID128) throws(GateError) -> TokenIssue? {
        try withConnection { c in
            let rows = try c.query(
                """
                SELECT image_id, tenant, issued_at, expires_at, protocols, minter, file_name FROM token_issues
                WHERE serial = $1
                """, [.text(serial.hex)])
            guard let row = rows.first else { return nil }
            guard let image = ImageID(try row.string(0)), let tenant = TenantID(try row.string(1)) else {
                throw PostgresImageRow.damaged("token issue \(serial.hex)")
            }
            return TokenIssue(
                serial: serial, image: image, tenant: tenant, issuedAt: try row.int64(2), expiresAt: try row.int64(3),
                protocols: UInt16(truncatingIfNeeded: try row.int64(4)), minter: try row.string(5),
                fileName: try row.optionalString(6))
        }
    }

    /// Read-through on every call (one primary-key lookup); callers cache on top within the window
    /// Docs/protocols.md §3.5 allows, which is how every node sees a revocation in time.
    public func isRevoked(serial: ID128) throws(GateError) -> Bool {
        try withConnection { c in
            try !c.query("SELECT 1 FROM revoked_serials WHERE serial = $1", [.text(serial.hex)]).isEmpty
        }
    }

    public func revoke(serial: ID128, expiresAt: Int64) throws(GateError) {
        let horizon = clock.now() - Self.revocationSkewSeconds
        try inTransaction { c in
            // Keep the later expiry if the serial was already revoked.
            try c.query(
                """
                INSERT INTO revoked_serials (serial, expires_at) VALUES ($1, $2)
                ON CONFLICT (serial) DO UPDATE SET expires_at = greatest(revoked_serials.expires_at, excluded.expires_at)
                """, [.text(serial.hex), .int(expiresAt)])
            // Tokens past expiry plus skew fail verification anyway; their entries only cost space.
            try c.query(
                "DELETE FROM revoked_serials WHERE expires_at < $1 AND serial <> $2", [.int(horizon), .text(serial.hex)])
        }
    }
}
