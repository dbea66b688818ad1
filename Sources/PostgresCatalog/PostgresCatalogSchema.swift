//===----------------------------------------------------------------------===//
// ImageGate: the PostgreSQL catalog schema, as versioned migrations (PostgresMigrator).
//===----------------------------------------------------------------------===//
import PostgresClient

/// The catalog's tables in PostgreSQL. Version 1 is the SQLite catalog after all six of its migrations
/// (SQLiteCatalog/Schema.swift), column for column, so both stores hold the same data:
/// - SQLite INTEGER → `int8`; REAL → `float8`; the 0/1 flags (`encrypted`, `disabled`) → `boolean`.
/// - TEXT → `text COLLATE "C"`: comparisons and ORDER BY are byte-wise like SQLite's BINARY collation, and
///   `lower()` folds ASCII only, like SQLite's, whatever locale the database was created with.
/// - Lists (features, tags) keep SQLite's U+001F-separated form (`␟a␟b␟`), so tag filters are the same
///   substring test.
/// Rules for later versions are the SQLite list's: never edit a released step, append one.
public enum PostgresCatalogSchema {
    public static let migrations: [PostgresMigration] = [
        PostgresMigration(version: 1, name: "catalog", sql: version1),
        PostgresMigration(version: 2, name: "webhooks", sql: version2),
        PostgresMigration(version: 3, name: "link administration", sql: version3),
    ]

    public static func migrator() throws(PostgresError) -> PostgresMigrator {
        try PostgresMigrator(migrations: migrations, table: "catalog_migrations")
    }

    static let version1 = """
        CREATE TABLE images (
            id                   text COLLATE "C" PRIMARY KEY,
            tenant               text COLLATE "C" NOT NULL,
            name                 text COLLATE "C" NOT NULL,
            remarks              text COLLATE "C" NOT NULL DEFAULT '',
            file_name            text COLLATE "C" NOT NULL,
            format               text COLLATE "C" NOT NULL CHECK (format IN ('qcow2', 'iso', 'raw')),
            size                 int8 NOT NULL DEFAULT 0 CHECK (size >= 0),
            sha256               text COLLATE "C" NOT NULL DEFAULT '',
            status               text COLLATE "C" NOT NULL CHECK (status IN
                                     ('making', 'uploading', 'available', 'failed', 'deleting', 'deleted')),
            generation           int8 NOT NULL DEFAULT 0,
            failure_reason       text COLLATE "C",
            created_at           int8 NOT NULL,
            updated_at           int8 NOT NULL,
            finalized_at         int8,
            kind                 text COLLATE "C" NOT NULL DEFAULT 'self_made' CHECK (kind IN ('self_made', 'iso')),
            encrypted            boolean NOT NULL DEFAULT false,
            features             text COLLATE "C" NOT NULL DEFAULT '',
            system_type          text COLLATE "C" NOT NULL DEFAULT '',
            os_release           text COLLATE "C" NOT NULL DEFAULT '',
            platform             text COLLATE "C" NOT NULL DEFAULT '',
            os_version           text COLLATE "C" NOT NULL DEFAULT '',
            architecture         text COLLATE "C" NOT NULL DEFAULT '',
            boot_mode            text COLLATE "C" NOT NULL DEFAULT '',
            project_group        text COLLATE "C" NOT NULL DEFAULT '',
            tags                 text COLLATE "C" NOT NULL DEFAULT '',
            virtual_size         int8 NOT NULL DEFAULT 0,
            status_before_delete text COLLATE "C",
            deleted_at           int8,
            progress_bytes       int8 NOT NULL DEFAULT 0,
            progress_total       int8,
            progress_rate        float8,
            progress_at          int8
        );
        CREATE INDEX images_by_created ON images (created_at, id);
        CREATE INDEX images_by_tenant ON images (tenant, created_at, id);
        CREATE INDEX images_by_status ON images (status);
        CREATE INDEX images_by_tenant_status ON images (tenant, status);

        CREATE TABLE import_leases (
            image_id   text COLLATE "C" PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
            pid        int8 NOT NULL,
            heartbeat  int8 NOT NULL,
            node       text COLLATE "C" NOT NULL DEFAULT '',
            run        text COLLATE "C" NOT NULL DEFAULT '',
            expires_at int8 NOT NULL DEFAULT 0
        );
        CREATE INDEX import_leases_by_holder ON import_leases (node, pid, run);

        CREATE TABLE token_issues (
            serial     text COLLATE "C" PRIMARY KEY,
            image_id   text COLLATE "C" NOT NULL,
            tenant     text COLLATE "C" NOT NULL,
            issued_at  int8 NOT NULL,
            expires_at int8 NOT NULL,
            protocols  int8 NOT NULL,
            minter     text COLLATE "C" NOT NULL,
            file_name  text COLLATE "C"
        );
        CREATE INDEX token_issues_by_image ON token_issues (image_id);
        CREATE INDEX token_issues_by_expiry ON token_issues (expires_at);

        CREATE TABLE revoked_serials (
            serial     text COLLATE "C" PRIMARY KEY,
            expires_at int8 NOT NULL
        );
        CREATE INDEX revoked_serials_by_expiry ON revoked_serials (expires_at);

        CREATE TABLE tenants (
            id         text COLLATE "C" PRIMARY KEY,
            name       text COLLATE "C" NOT NULL,
            created_at int8 NOT NULL
        );

        CREATE TABLE accounts (
            id         text COLLATE "C" PRIMARY KEY,
            tenant     text COLLATE "C" REFERENCES tenants (id),
            kind       text COLLATE "C" NOT NULL CHECK (kind IN ('platform_admin', 'tenant', 'sub_account')),
            permission text COLLATE "C" NOT NULL CHECK (permission IN ('view', 'manage')),
            name       text COLLATE "C" NOT NULL,
            created_at int8 NOT NULL,
            disabled   boolean NOT NULL DEFAULT false,
            CHECK ((kind = 'platform_admin') = (tenant IS NULL))
        );
        CREATE INDEX accounts_by_tenant ON accounts (tenant);

        CREATE TABLE api_keys (
            key_id       text COLLATE "C" PRIMARY KEY,
            account_id   text COLLATE "C" NOT NULL REFERENCES accounts (id),
            secret_hash  text COLLATE "C" NOT NULL,
            created_at   int8 NOT NULL,
            last_used_at int8,
            revoked_at   int8,
            expires_at   int8
        );
        CREATE INDEX api_keys_by_account ON api_keys (account_id);

        CREATE TABLE vm_references (
            image_id   text COLLATE "C" NOT NULL REFERENCES images (id) ON DELETE CASCADE,
            vm_id      text COLLATE "C" NOT NULL,
            created_at int8 NOT NULL,
            PRIMARY KEY (image_id, vm_id)
        );

        CREATE TABLE audit_events (
            seq           int8 PRIMARY KEY,
            time          int8 NOT NULL,
            actor         text COLLATE "C" NOT NULL,
            actor_tenant  text COLLATE "C",
            action        text COLLATE "C" NOT NULL,
            target        text COLLATE "C" NOT NULL,
            target_tenant text COLLATE "C",
            source        text COLLATE "C" NOT NULL,
            outcome       text COLLATE "C" NOT NULL,
            detail        text COLLATE "C" NOT NULL,
            prev_hash     text COLLATE "C" NOT NULL,
            hash          text COLLATE "C" NOT NULL
        );
        CREATE INDEX audit_by_actor_tenant ON audit_events (actor_tenant, seq);
        CREATE INDEX audit_by_target_tenant ON audit_events (target_tenant, seq);
        CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
        CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
        CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
            FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

        CREATE TABLE import_jobs (
            image_id        text COLLATE "C" PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
            source          text COLLATE "C" NOT NULL CHECK (source IN ('url', 'upload', 'vm')),
            sealed_url      text COLLATE "C",
            display_url     text COLLATE "C",
            declared        text COLLATE "C" NOT NULL CHECK (declared IN ('qcow2', 'iso', 'raw')),
            expected_sha256 text COLLATE "C",
            encrypted       boolean NOT NULL DEFAULT false,
            total_size      int8,
            validator       text COLLATE "C",
            upload_id       text COLLATE "C" UNIQUE,
            expires_at      int8,
            created_at      int8 NOT NULL,
            detect_format   text COLLATE "C" CHECK (detect_format IN ('any', 'self_made'))
        );

        CREATE TABLE shared_documents (
            name       text COLLATE "C" PRIMARY KEY,
            body       text COLLATE "C" NOT NULL,
            version    int8 NOT NULL,
            updated_at int8 NOT NULL
        );
        CREATE TABLE task_leases (
            name       text COLLATE "C" PRIMARY KEY,
            holder     text COLLATE "C" NOT NULL,
            expires_at int8 NOT NULL
        );
        CREATE TABLE console_sessions (
            digest     text COLLATE "C" PRIMARY KEY,
            key_id     text COLLATE "C" NOT NULL,
            account_id text COLLATE "C" NOT NULL,
            csrf_token text COLLATE "C" NOT NULL,
            created_at int8 NOT NULL,
            last_seen  int8 NOT NULL
        );
        CREATE INDEX console_sessions_by_key ON console_sessions (key_id);
        """

    /// The SQLite catalog's migration 7: webhooks and their delivery outbox (Docs/webhooks.md).
    static let version2 = """
        CREATE TABLE webhooks (
            id         text COLLATE "C" PRIMARY KEY,
            url        text COLLATE "C" NOT NULL,
            events     text COLLATE "C" NOT NULL,
            secret     text COLLATE "C" NOT NULL,
            created_by text COLLATE "C" NOT NULL,
            created_at int8 NOT NULL,
            enabled    boolean NOT NULL DEFAULT true
        );
        CREATE TABLE webhook_deliveries (
            seq             int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            webhook_id      text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
            event_id        text COLLATE "C" NOT NULL,
            type            text COLLATE "C" NOT NULL,
            time            int8 NOT NULL,
            image_id        text COLLATE "C",
            data            text COLLATE "C" NOT NULL,
            attempts        int8 NOT NULL DEFAULT 0,
            next_attempt_at int8 NOT NULL,
            state           text COLLATE "C" NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
            last_status     int8,
            last_error      text COLLATE "C",
            last_attempt_at int8,
            claimed_by      text COLLATE "C",
            claim_until     int8,
            UNIQUE (webhook_id, event_id)
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
        CREATE INDEX webhook_deliveries_by_image ON webhook_deliveries (webhook_id, image_id, seq)
            WHERE state = 'pending';
        CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, seq);
        """

    /// SQLite migration 8, column for column: link options, revocation time and usage (Docs/links.md).
    static let version3 = """
        ALTER TABLE token_issues ADD COLUMN label text COLLATE "C" NOT NULL DEFAULT '';
        ALTER TABLE token_issues ADD COLUMN protocol_names text COLLATE "C";          -- NULL: the token's bits decide alone
        ALTER TABLE token_issues ADD COLUMN allowed_ips text COLLATE "C" NOT NULL DEFAULT '';
        ALTER TABLE token_issues ADD COLUMN max_downloads int8;            -- NULL: unlimited
        ALTER TABLE token_issues ADD COLUMN image_size int8 NOT NULL DEFAULT 0;
        ALTER TABLE token_issues ADD COLUMN allowance_bytes int8;          -- N x size x 1.1 + 16 MiB
        ALTER TABLE token_issues ADD COLUMN revoked_at int8;
        ALTER TABLE token_issues ADD COLUMN sessions int8 NOT NULL DEFAULT 0;
        ALTER TABLE token_issues ADD COLUMN bytes_served int8 NOT NULL DEFAULT 0;
        ALTER TABLE token_issues ADD COLUMN last_client text COLLATE "C";
        ALTER TABLE token_issues ADD COLUMN last_used_at int8;
        UPDATE token_issues SET revoked_at = issued_at WHERE serial IN (SELECT serial FROM revoked_serials);
        CREATE INDEX token_issues_by_issued ON token_issues (issued_at, serial);
        CREATE INDEX token_issues_by_tenant ON token_issues (tenant, issued_at, serial);
        """
}
