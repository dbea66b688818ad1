//===----------------------------------------------------------------------===//
// ImageGate: SQLite store, link records (token issues with options and usage) and the revoked-serial deny-list.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension SQLiteCatalogStore {
    public func recordTokenIssue(_ issue: TokenIssue) throws(GateError) {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                INSERT INTO token_issues (serial, image_id, tenant, issued_at, expires_at, protocols, minter,
                    file_name, label, protocol_names, allowed_ips, max_downloads, image_size, allowance_bytes)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                """)
            try stmt.bind(1, issue.serial.hex)
            try stmt.bind(2, issue.image.description)
            try stmt.bind(3, issue.tenant.description)
            try stmt.bind(4, issue.issuedAt)
            try stmt.bind(5, issue.expiresAt)
            try stmt.bind(6, Int64(issue.protocols))
            try stmt.bind(7, issue.minter)
            try stmt.bind(8, issue.fileName)
            try stmt.bind(9, issue.options.label)
            try stmt.bind(10, issue.options.protocols.map(LinkColumns.join))
            try stmt.bind(11, LinkColumns.join(issue.options.allowedIPs))
            try stmt.bind(12, issue.options.maxDownloads)
            try stmt.bind(13, issue.options.imageSize)
            try stmt.bind(14, issue.options.byteAllowance)
            try stmt.step()
        }
    }

    public func tokenIssue(serial: ID128) throws(GateError) -> TokenIssue? {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(composed: Self.linkSelect + " WHERE serial = ?1")
            try stmt.bind(1, serial.hex)
            guard try stmt.step() else { return nil }
            return try Self.decodeLink(stmt)
        }
    }

    /// Every filter is a bound parameter that disables itself when NULL (one constant statement):
    /// ?1 image, ?2 tenant, ?3 minter, ?4 state, ?5 now, ?6 limit, ?7 offset. The state is decided in the
    /// order of `TokenIssue.state(now:)`.
    public func links(_ q: LinkQuery) throws(GateError) -> [TokenIssue] {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                composed: Self.linkSelect + """
                     WHERE (?1 IS NULL OR image_id = ?1) AND (?2 IS NULL OR tenant = ?2)
                      AND (?3 IS NULL OR minter = ?3)
                      AND (?4 IS NULL OR ?4 = CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                           WHEN expires_at < ?5 THEN 'expired'
                           WHEN allowance_bytes IS NOT NULL AND bytes_served >= allowance_bytes THEN 'exhausted'
                           ELSE 'active' END)
                    ORDER BY issued_at DESC, serial DESC LIMIT ?6 OFFSET ?7
                    """)
            try stmt.bind(1, q.image?.description)
            try stmt.bind(2, q.tenant?.description)
            try stmt.bind(3, q.minter)
            try stmt.bind(4, q.state?.rawValue)
            try stmt.bind(5, q.now)
            try stmt.bind(6, Int64(q.limit))
            try stmt.bind(7, Int64(q.offset))
            var out: [TokenIssue] = []
            while try stmt.step() { out.append(try Self.decodeLink(stmt)) }
            return out
        }
    }

    /// One UPDATE of increments: every node adds to the same counters, nothing is read back first. The record
    /// is read after it in the same transaction, so it shows exactly what this report left.
    @discardableResult
    public func recordLinkUse(_ use: LinkUse) throws(GateError) -> TokenIssue? {
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) -> TokenIssue? in
                let stmt = try db.prepare(
                    """
                    UPDATE token_issues SET sessions = sessions + ?2, bytes_served = bytes_served + ?3,
                        last_client = ?4, last_used_at = max(coalesce(last_used_at, ?5), ?5)
                    WHERE serial = ?1
                    """)
                try stmt.bind(1, use.serial.hex)
                try stmt.bind(2, use.newSessions)
                try stmt.bind(3, use.bytes)
                try stmt.bind(4, use.client)
                try stmt.bind(5, use.at)
                try stmt.step()
                let read = try db.prepare(composed: Self.linkSelect + " WHERE serial = ?1")
                try read.bind(1, use.serial.hex)
                return try read.step() ? try Self.decodeLink(read) : nil
            }
        }
    }

    static let linkSelect = """
        SELECT serial, image_id, tenant, issued_at, expires_at, protocols, minter, file_name, label, protocol_names,
            allowed_ips, max_downloads, image_size, revoked_at, sessions, bytes_served, last_client, last_used_at
        FROM token_issues
        """

    static func decodeLink(_ stmt: SQLiteStatement) throws(GateError) -> TokenIssue {
        let serialText = stmt.string(0)
        guard let serial = ID128(hex: serialText), let image = ImageID(stmt.string(1)),
            let tenant = TenantID(stmt.string(2))
        else { throw ImageRow.damaged("token issue \(serialText)") }
        return TokenIssue(
            serial: serial, image: image, tenant: tenant, issuedAt: stmt.int64(3), expiresAt: stmt.int64(4),
            protocols: UInt16(truncatingIfNeeded: stmt.int64(5)), minter: stmt.string(6),
            fileName: stmt.optionalString(7),
            options: LinkOptions(
                protocols: stmt.optionalString(9).map(LinkColumns.split),
                allowedIPs: LinkColumns.split(stmt.string(10)), maxDownloads: stmt.optionalInt64(11),
                imageSize: stmt.int64(12), label: stmt.string(8)),
            revokedAt: stmt.optionalInt64(13),
            usage: LinkUsage(
                sessions: stmt.int64(14), bytesServed: stmt.int64(15), lastClient: stmt.optionalString(16),
                lastUsedAt: stmt.optionalInt64(17)))
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
        let now = clock.now()
        let horizon = now - Self.revocationSkewSeconds
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
                // The link record shows when it was revoked first (the inventory's `revoked` state).
                let stamp = try db.prepare(
                    "UPDATE token_issues SET revoked_at = ?2 WHERE serial = ?1 AND revoked_at IS NULL")
                try stamp.bind(1, serial.hex)
                try stamp.bind(2, now)
                try stamp.step()
                // Tokens past expiry plus skew fail verification anyway; their entries only cost space.
                let prune = try db.prepare("DELETE FROM revoked_serials WHERE expires_at < ?1 AND serial <> ?2")
                try prune.bind(1, horizon)
                try prune.bind(2, serial.hex)
                try prune.step()
            }
        }
    }
}
