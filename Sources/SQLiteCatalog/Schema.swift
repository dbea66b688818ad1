//===----------------------------------------------------------------------===//
// ImageGate: the catalog schema as an append-only list of migrations (PRAGMA user_version).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

/// Schema migrations. `PRAGMA user_version` holds how many have been applied.
///
/// Rules for later issues: never edit or reorder an entry once released; append a new one
/// (`ALTER TABLE … ADD COLUMN …` with a default, `CREATE TABLE …`). Each entry runs in its own
/// `BEGIN IMMEDIATE` transaction together with the version bump, so a crash mid-migration leaves the
/// previous version intact, and two processes opening a fresh file at once cannot both apply it.
enum CatalogSchema {
    static let migrations: [String] = [
        // 1: images, import leases, minted tokens, revoked serials.
        """
        CREATE TABLE images (
            id             TEXT PRIMARY KEY NOT NULL,      -- img-<32 hex>
            tenant         TEXT NOT NULL,                  -- ten-<32 hex>
            name           TEXT NOT NULL,
            remarks        TEXT NOT NULL DEFAULT '',
            file_name      TEXT NOT NULL,
            format         TEXT NOT NULL CHECK (format IN ('qcow2', 'iso', 'raw')),
            size           INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
            sha256         TEXT NOT NULL DEFAULT '',
            status         TEXT NOT NULL CHECK (status IN
                               ('making', 'uploading', 'available', 'failed', 'deleting', 'deleted')),
            generation     INTEGER NOT NULL DEFAULT 0,
            failure_reason TEXT,
            created_at     INTEGER NOT NULL,
            updated_at     INTEGER NOT NULL,
            finalized_at   INTEGER
        );
        CREATE INDEX images_by_created ON images (created_at, id);
        CREATE INDEX images_by_tenant ON images (tenant, created_at, id);
        CREATE INDEX images_by_status ON images (status);

        -- Which process owns an in-progress import. Deleted with the image; cleared when the import ends.
        CREATE TABLE import_leases (
            image_id  TEXT PRIMARY KEY NOT NULL REFERENCES images (id) ON DELETE CASCADE,
            pid       INTEGER NOT NULL,
            heartbeat INTEGER NOT NULL
        );

        -- Minted tokens, for audit and targeted revocation. No foreign key on purpose: the record of a
        -- token must outlive a purged image row.
        CREATE TABLE token_issues (
            serial     TEXT PRIMARY KEY NOT NULL,          -- 32 hex
            image_id   TEXT NOT NULL,
            tenant     TEXT NOT NULL,
            issued_at  INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            protocols  INTEGER NOT NULL,
            minter     TEXT NOT NULL
        );
        CREATE INDEX token_issues_by_image ON token_issues (image_id);
        CREATE INDEX token_issues_by_expiry ON token_issues (expires_at);

        -- Serial deny-list (Docs/protocols.md §3.5). Rows can go once the token itself has expired.
        CREATE TABLE revoked_serials (
            serial     TEXT PRIMARY KEY NOT NULL,          -- 32 hex
            expires_at INTEGER NOT NULL
        );
        CREATE INDEX revoked_serials_by_expiry ON revoked_serials (expires_at);
        """,
        // 2: image list fields, recycle bin, import progress; tenants, accounts, API keys (hashes only),
        // VM references, hash-chained audit log. Lists (features, tags) are stored as
        // U+001F-separated text with a leading and trailing separator (see ImageRow.joinList).
        """
        ALTER TABLE images ADD COLUMN kind TEXT NOT NULL DEFAULT 'self_made' CHECK (kind IN ('self_made', 'iso'));
        ALTER TABLE images ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE images ADD COLUMN features TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN system_type TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN os_release TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN platform TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN os_version TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN architecture TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN boot_mode TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN project_group TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN tags TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN virtual_size INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE images ADD COLUMN status_before_delete TEXT;
        ALTER TABLE images ADD COLUMN deleted_at INTEGER;
        ALTER TABLE images ADD COLUMN progress_bytes INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE images ADD COLUMN progress_total INTEGER;
        ALTER TABLE images ADD COLUMN progress_rate REAL;
        UPDATE images SET kind = 'iso' WHERE format = 'iso';
        CREATE INDEX images_by_tenant_status ON images (tenant, status);

        CREATE TABLE tenants (
            id         TEXT PRIMARY KEY NOT NULL,          -- ten-<32 hex>
            name       TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );

        CREATE TABLE accounts (
            id         TEXT PRIMARY KEY NOT NULL,          -- acc-<32 hex>
            tenant     TEXT REFERENCES tenants (id),       -- NULL only for platform admins
            kind       TEXT NOT NULL CHECK (kind IN ('platform_admin', 'tenant', 'sub_account')),
            permission TEXT NOT NULL CHECK (permission IN ('view', 'manage')),
            name       TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            disabled   INTEGER NOT NULL DEFAULT 0,
            CHECK ((kind = 'platform_admin') = (tenant IS NULL))
        );
        CREATE INDEX accounts_by_tenant ON accounts (tenant);

        -- Only SHA-256(secret) is stored; the secret is shown once at creation and never kept.
        CREATE TABLE api_keys (
            key_id       TEXT PRIMARY KEY NOT NULL,        -- igk_<12 hex>
            account_id   TEXT NOT NULL REFERENCES accounts (id),
            secret_hash  TEXT NOT NULL,                    -- 64 hex
            created_at   INTEGER NOT NULL,
            last_used_at INTEGER,
            revoked_at   INTEGER,
            expires_at   INTEGER
        );
        CREATE INDEX api_keys_by_account ON api_keys (account_id);

        -- VMs created from an image; an image with references cannot be deleted.
        CREATE TABLE vm_references (
            image_id   TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
            vm_id      TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (image_id, vm_id)
        );

        -- Append-only, hash-chained: hash = sha256(prev_hash || canonical event). No foreign keys: the
        -- history outlives destroyed images and accounts.
        CREATE TABLE audit_events (
            seq           INTEGER PRIMARY KEY NOT NULL,
            time          INTEGER NOT NULL,
            actor         TEXT NOT NULL,
            actor_tenant  TEXT,
            action        TEXT NOT NULL,
            target        TEXT NOT NULL,
            target_tenant TEXT,
            source        TEXT NOT NULL,
            outcome       TEXT NOT NULL,
            detail        TEXT NOT NULL,                   -- canonical JSON object, keys sorted
            prev_hash     TEXT NOT NULL,
            hash          TEXT NOT NULL
        );
        CREATE INDEX audit_by_actor_tenant ON audit_events (actor_tenant, seq);
        CREATE INDEX audit_by_target_tenant ON audit_events (target_tenant, seq);
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        """,
        // 3: import jobs: what an in-progress import reads from (a sealed URL, or a resumable upload), so a
        // restart can resume it.
        """
        CREATE TABLE import_jobs (
            image_id        TEXT PRIMARY KEY NOT NULL REFERENCES images (id) ON DELETE CASCADE,
            source          TEXT NOT NULL CHECK (source IN ('url', 'upload', 'vm')),
            sealed_url      TEXT,                       -- hex of SecretBox(url): credentials never in clear
            display_url     TEXT,                       -- the URL with credentials redacted
            declared        TEXT NOT NULL CHECK (declared IN ('qcow2', 'iso', 'raw')),
            expected_sha256 TEXT,
            encrypted       INTEGER NOT NULL DEFAULT 0,
            total_size      INTEGER,
            validator       TEXT,                       -- source ETag / Last-Modified, for resumption
            upload_id       TEXT UNIQUE,
            expires_at      INTEGER,                    -- uploads: resumable until
            created_at      INTEGER NOT NULL
        );
        """,
        // 4: when an import's bytes last moved, so a stalled transfer's rate and ETA can age out.
        """
        ALTER TABLE images ADD COLUMN progress_at INTEGER;
        """,
        // 5: leases name their holder (node, pid, run) and expire 30 s after the last heartbeat (leases
        // written before keep the old 10-minute grace); a minted link remembers the file name it was minted
        // with, so a rename does not break it; an import may leave its format to the bytes.
        """
        ALTER TABLE import_leases ADD COLUMN node TEXT NOT NULL DEFAULT '';
        ALTER TABLE import_leases ADD COLUMN run TEXT NOT NULL DEFAULT '';
        ALTER TABLE import_leases ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
        UPDATE import_leases SET expires_at = heartbeat + 600;
        CREATE INDEX import_leases_by_holder ON import_leases (node, pid, run);
        ALTER TABLE token_issues ADD COLUMN file_name TEXT;    -- NULL for links minted before
        ALTER TABLE import_jobs ADD COLUMN detect_format TEXT  -- NULL: the declared format stands
            CHECK (detect_format IN ('any', 'self_made'));
        """,
        // 6: state every gateway node shares (SharedState.swift): named documents with a version for
        // compare-and-swap, task leases (one node at a time runs a periodic job), console sessions.
        """
        CREATE TABLE shared_documents (
            name       TEXT PRIMARY KEY NOT NULL,
            body       TEXT NOT NULL,
            version    INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE task_leases (
            name       TEXT PRIMARY KEY NOT NULL,
            holder     TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE TABLE console_sessions (
            digest     TEXT PRIMARY KEY NOT NULL,   -- hex SHA-256 of the cookie, never the cookie
            key_id     TEXT NOT NULL,
            account_id TEXT NOT NULL,
            csrf_token TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_seen  INTEGER NOT NULL
        );
        CREATE INDEX console_sessions_by_key ON console_sessions (key_id);
        """,
        // 7: webhooks and their delivery outbox (Docs/webhooks.md). A delivery row is both the outbox entry
        // (pending, claimed by one node at a time) and, once delivered or given up, the webhook's log.
        """
        CREATE TABLE webhooks (
            id         TEXT PRIMARY KEY NOT NULL,          -- whk-<32 hex>
            url        TEXT NOT NULL,
            events     TEXT NOT NULL,                      -- U+001F-separated, like tags
            secret     TEXT NOT NULL,                      -- the HMAC key; shown once when added
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            enabled    INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE webhook_deliveries (
            seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- enqueue order, never reused
            webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
            event_id        TEXT NOT NULL,                 -- evt-<32 hex>
            type            TEXT NOT NULL,
            time            INTEGER NOT NULL,
            image_id        TEXT,                          -- ordering key: one image's events go out in order
            data            TEXT NOT NULL,                 -- JSON object
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
            last_status     INTEGER,
            last_error      TEXT,
            last_attempt_at INTEGER,
            claimed_by      TEXT,                          -- the node working on it, until claim_until
            claim_until     INTEGER,
            UNIQUE (webhook_id, event_id)
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
        CREATE INDEX webhook_deliveries_by_image ON webhook_deliveries (webhook_id, image_id, seq)
            WHERE state = 'pending';
        CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, seq);
        """,
        // 8: link administration (Docs/links.md): a minted link's options (label, protocol names, allowed
        // client addresses, max_downloads with its byte allowance), when it was revoked, and its usage, which
        // every front adds to. Links revoked before carry their issue time as revocation time.
        """
        ALTER TABLE token_issues ADD COLUMN label TEXT NOT NULL DEFAULT '';
        ALTER TABLE token_issues ADD COLUMN protocol_names TEXT;          -- NULL: the token's bits decide alone
        ALTER TABLE token_issues ADD COLUMN allowed_ips TEXT NOT NULL DEFAULT '';
        ALTER TABLE token_issues ADD COLUMN max_downloads INTEGER;            -- NULL: unlimited
        ALTER TABLE token_issues ADD COLUMN image_size INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE token_issues ADD COLUMN allowance_bytes INTEGER;          -- N x size x 1.1 + 16 MiB
        ALTER TABLE token_issues ADD COLUMN revoked_at INTEGER;
        ALTER TABLE token_issues ADD COLUMN sessions INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE token_issues ADD COLUMN bytes_served INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE token_issues ADD COLUMN last_client TEXT;
        ALTER TABLE token_issues ADD COLUMN last_used_at INTEGER;
        UPDATE token_issues SET revoked_at = issued_at WHERE serial IN (SELECT serial FROM revoked_serials);
        CREATE INDEX token_issues_by_issued ON token_issues (issued_at, serial);
        CREATE INDEX token_issues_by_tenant ON token_issues (tenant, issued_at, serial);
        """,
    ]

    /// Brings the database up to `migrations.count`. Safe to run from several processes at once.
    static func migrate(_ db: SQLiteConnection) throws(GateError) {
        let known = migrations.count
        var version = try userVersion(db)
        guard version <= known else {
            throw .io("catalog schema version \(version) is newer than this program understands (\(known))")
        }
        while version < known {
            try db.immediateTransaction { () throws(GateError) in
                // Re-read under the write lock: another process may have migrated meanwhile.
                let current = try userVersion(db)
                guard current == version else { return }
                try db.execute(migrations[version])
                // PRAGMA takes no bound parameters; the value is our own integer, never user data.
                try db.execute("PRAGMA user_version = \(version + 1)")
            }
            version = try userVersion(db)
        }
    }

    static func userVersion(_ db: SQLiteConnection) throws(GateError) -> Int {
        let stmt = try db.prepare("PRAGMA user_version")
        guard try stmt.step() else { return 0 }
        return Int(stmt.int64(0))
    }
}
