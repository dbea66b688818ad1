//===----------------------------------------------------------------------===//
// ImageGate: tests of migration 2 and the management store methods.
//===----------------------------------------------------------------------===//
import CSQLite
import GateCore
import ImageCatalog
import SQLiteCatalog
import Testing

@Suite struct ManagementStoreTests {
    @Test func migratesAVersionOneCatalog() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let iso = sampleRecord()
        try store.insert(iso)
        store.close()
        // Roll the file back to what migration 1 alone produced (one ISO row), then reopen: 2 to 7 run again.
        try exec(
            dir.catalogPath,
            """
            DROP TABLE webhook_deliveries; DROP TABLE webhooks;
            DROP TABLE shared_documents; DROP TABLE task_leases; DROP TABLE console_sessions;
            DROP INDEX import_leases_by_holder; ALTER TABLE import_leases DROP COLUMN node;
            ALTER TABLE import_leases DROP COLUMN run; ALTER TABLE import_leases DROP COLUMN expires_at;
            DROP INDEX token_issues_by_issued; DROP INDEX token_issues_by_tenant;
            ALTER TABLE token_issues DROP COLUMN label; ALTER TABLE token_issues DROP COLUMN protocol_names;
            ALTER TABLE token_issues DROP COLUMN allowed_ips; ALTER TABLE token_issues DROP COLUMN max_downloads;
            ALTER TABLE token_issues DROP COLUMN image_size; ALTER TABLE token_issues DROP COLUMN allowance_bytes;
            ALTER TABLE token_issues DROP COLUMN revoked_at; ALTER TABLE token_issues DROP COLUMN sessions;
            ALTER TABLE token_issues DROP COLUMN bytes_served; ALTER TABLE token_issues DROP COLUMN last_client;
            ALTER TABLE token_issues DROP COLUMN last_used_at;
            ALTER TABLE token_issues DROP COLUMN file_name;
            DROP TABLE import_jobs; DROP TABLE audit_events; DROP TABLE vm_references; DROP TABLE api_keys;
            DROP TABLE accounts;
            DROP TABLE tenants; DROP INDEX images_by_tenant_status;
            CREATE TABLE old AS SELECT id, tenant, name, remarks, file_name, format, size, sha256, status, generation,
                failure_reason, created_at, updated_at, finalized_at FROM images;
            DROP TABLE images;
            CREATE TABLE images (id TEXT PRIMARY KEY NOT NULL, tenant TEXT NOT NULL, name TEXT NOT NULL,
                remarks TEXT NOT NULL DEFAULT '', file_name TEXT NOT NULL, format TEXT NOT NULL, size INTEGER NOT NULL,
                sha256 TEXT NOT NULL, status TEXT NOT NULL, generation INTEGER NOT NULL, failure_reason TEXT,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, finalized_at INTEGER);
            INSERT INTO images SELECT * FROM old; DROP TABLE old;
            UPDATE images SET format = 'iso';
            PRAGMA user_version = 1;
            """)
        let again = try dir.openStore()
        let migrated = try #require(try again.image(iso.id))
        #expect(migrated.kind == .iso && migrated.tags.isEmpty && migrated.vmCount == 0)
        #expect(try again.queryImages(ImageQuery()).total == 1)
    }

    @Test func auditChainAndAppendOnly() throws {
        let dir = TempDir()
        let store = try dir.openStore()
        let d = AuditDraft(
            time: 1, actor: "a", actorTenant: nil, action: "x", target: "t", targetTenant: .defaultTenant,
            source: "s", outcome: "ok", detail: ["k": "v\"\n", "a": "ü"])
        let e1 = try store.appendAudit(d)
        let e2 = try store.appendAudit(d)
        #expect(e1.seq == 1 && e2.seq == 2)
        #expect(e2.hash == AuditEvent.chainHash(previous: e1.hash, seq: 2, d))
        #expect(try store.auditEvents(tenant: .defaultTenant, afterSeq: 1, limit: 10) == [e2])
        #expect(try store.auditEvents(tenant: TenantID(ID128(high: 5, low: 5)), afterSeq: nil, limit: 10).isEmpty)
        store.close()
        #expect(throws: (any Error).self) { try exec(dir.catalogPath, "DELETE FROM audit_events") }
    }
}

private struct ExecError: Error { let message: String }

private func exec(_ path: String, _ sql: String) throws {
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK else { throw ExecError(message: "open") }
    defer { sqlite3_close(db) }
    var err: UnsafeMutablePointer<CChar>?
    if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
        let m = err.map { String(cString: $0) } ?? "?"
        sqlite3_free(err)
        throw ExecError(message: m)
    }
}
