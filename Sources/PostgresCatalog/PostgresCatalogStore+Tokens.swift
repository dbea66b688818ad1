//===----------------------------------------------------------------------===//
// ImageGate: PostgreSQL store, link records (token issues with options and usage) and the revoked-serial deny-list.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import PostgresClient

extension PostgresCatalogStore {
    public func recordTokenIssue(_ issue: TokenIssue) throws(GateError) {
        try inTransaction { c in
            try c.query(
                """
                INSERT INTO token_issues (serial, image_id, tenant, issued_at, expires_at, protocols, minter, file_name,
                    label, protocol_names, allowed_ips, max_downloads, image_size, allowance_bytes)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                """,
                [
                    .text(issue.serial.hex), .text(issue.image.description), .text(issue.tenant.description),
                    .int(issue.issuedAt), .int(issue.expiresAt), .int(Int64(issue.protocols)), .text(issue.minter),
                    .text(issue.fileName), .text(issue.options.label),
                    .text(issue.options.protocols.map(LinkColumns.join)),
                    .text(LinkColumns.join(issue.options.allowedIPs)), .int(issue.options.maxDownloads),
                    .int(issue.options.imageSize), .int(issue.options.byteAllowance),
                ])
        }
    }

    public func tokenIssue(serial: ID128) throws(GateError) -> TokenIssue? {
        try withConnection { c in
            let rows = try c.query(composed: Self.linkSelect + " WHERE serial = $1", [.text(serial.hex)])
            guard let row = rows.first else { return nil }
            return try Self.decodeLink(row)
        }
    }

    /// The SQLite store's statement: every filter disables itself when NULL; the state is decided in the
    /// order of `TokenIssue.state(now:)`.
    public func links(_ q: LinkQuery) throws(GateError) -> [TokenIssue] {
        try withConnection { c in
            let rows = try c.query(
                composed: Self.linkSelect + """
                     WHERE ($1::text IS NULL OR image_id = $1) AND ($2::text IS NULL OR tenant = $2)
                      AND ($3::text IS NULL OR minter = $3)
                      AND ($4::text IS NULL OR $4::text = CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                           WHEN expires_at < $5::int8 THEN 'expired'
                           WHEN allowance_bytes IS NOT NULL AND bytes_served >= allowance_bytes THEN 'exhausted'
                           ELSE 'active' END)
                    ORDER BY issued_at DESC, serial DESC LIMIT $6 OFFSET $7
                    """,
                [
                    .text(q.image?.description), .text(q.tenant?.description), .text(q.minter),
                    .text(q.state?.rawValue), .int(q.now), .int(q.limit), .int(q.offset),
                ])
            var out: [TokenIssue] = []
            for row in rows.rows { out.append(try Self.decodeLink(row)) }
            return out
        }
    }

    /// One UPDATE of increments: every node adds to the same counters, nothing is read back first.
    @discardableResult
    public func recordLinkUse(_ use: LinkUse) throws(GateError) -> TokenIssue? {
        try withConnection { c in
            let rows = try c.query(
                composed: """
                    UPDATE token_issues SET sessions = sessions + $2, bytes_served = bytes_served + $3,
                        last_client = $4, last_used_at = greatest(coalesce(last_used_at, $5::int8), $5::int8)
                    WHERE serial = $1 RETURNING
                    """ + Self.linkColumns,
                [.text(use.serial.hex), .int(use.newSessions), .int(use.bytes), .text(use.client), .int(use.at)])
            return try rows.first.map(Self.decodeLink)
        }
    }

    static let linkColumns = """
         serial, image_id, tenant, issued_at, expires_at, protocols, minter, file_name, label, protocol_names,
            allowed_ips, max_downloads, image_size, revoked_at, sessions, bytes_served, last_client, last_used_at
        """
    static let linkSelect = "SELECT" + linkColumns + " FROM token_issues"

    static func decodeLink(_ row: PostgresRow) throws -> TokenIssue {
        let serialText = try row.string(0)
        guard let serial = ID128(hex: serialText), let image = ImageID(try row.string(1)),
            let tenant = TenantID(try row.string(2))
        else { throw PostgresImageRow.damaged("token issue \(serialText)") }
        return TokenIssue(
            serial: serial, image: image, tenant: tenant, issuedAt: try row.int64(3), expiresAt: try row.int64(4),
            protocols: UInt16(truncatingIfNeeded: try row.int64(5)), minter: try row.string(6),
            fileName: try row.optionalString(7),
            options: LinkOptions(
                protocols: try row.optionalString(9).map(LinkColumns.split),
                allowedIPs: LinkColumns.split(try row.string(10)), maxDownloads: try row.optionalInt64(11),
                imageSize: try row.int64(12), label: try row.string(8)),
            revokedAt: try row.optionalInt64(13),
            usage: LinkUsage(
                sessions: try row.int64(14), bytesServed: try row.int64(15), lastClient: try row.optionalString(16),
                lastUsedAt: try row.optionalInt64(17)))
    }

    /// Read-through on every call (one primary-key lookup); callers cache on top within the window
    /// Docs/protocols.md §3.5 allows, which is how every node sees a revocation in time.
    public func isRevoked(serial: ID128) throws(GateError) -> Bool {
        try withConnection { c in
            try !c.query("SELECT 1 FROM revoked_serials WHERE serial = $1", [.text(serial.hex)]).isEmpty
        }
    }

    public func revoke(serial: ID128, expiresAt: Int64) throws(GateError) {
        let now = clock.now()
        let horizon = now - Self.revocationSkewSeconds
        try inTransaction { c in
            // Keep the later expiry if the serial was already revoked.
            try c.query(
                """
                INSERT INTO revoked_serials (serial, expires_at) VALUES ($1, $2)
                ON CONFLICT (serial) DO UPDATE SET expires_at = greatest(revoked_serials.expires_at, excluded.expires_at)
                """, [.text(serial.hex), .int(expiresAt)])
            // The link record shows when it was revoked first (the inventory's `revoked` state).
            try c.query(
                "UPDATE token_issues SET revoked_at = $2 WHERE serial = $1 AND revoked_at IS NULL",
                [.text(serial.hex), .int(now)])
            // Tokens past expiry plus skew fail verification anyway; their entries only cost space.
            try c.query(
                "DELETE FROM revoked_serials WHERE expires_at < $1 AND serial <> $2",
                [.int(horizon), .text(serial.hex)])
        }
    }
}
