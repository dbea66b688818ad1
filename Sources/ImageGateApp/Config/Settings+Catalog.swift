//===----------------------------------------------------------------------===//
// ImageGate: the catalog.* safety settings (start-up integrity check, orphan-blob quarantine).
//===----------------------------------------------------------------------===//
import GateCore

/// How carefully the catalog is treated at start and by the orphan-blob sweep (Docs/recovery.md).
struct CatalogGuardSettings: Sendable {
    /// Run SQLite's `PRAGMA quick_check` whenever the data directory is opened; refuse to go on if it fails.
    var quickCheck = true
    /// A blob without a catalog row is only quarantined once it is at least this old (seconds, by mtime).
    var orphanGrace: Int64 = 3600
    /// More orphans than this at once: the sweep moves none and reports them (the catalog is likely wrong).
    var orphanSweepLimit = 5
    /// PostgreSQL catalog only: at most this many sessions per process (`catalog.pool_size`). Every node
    /// and CLI has its own pool, so pool size × processes must stay below the server's max_connections.
    var poolSize = 8
}

extension SettingKey {
    static let catalogGuards: [SettingKey] = [
        SettingKey(
            name: "catalog.url", defaultText: "",
            help: "Empty: <data_dir>/catalog.sqlite3. postgres://USER:PASS@HOST:PORT/DB?sslmode=… for several "
                + "nodes on one PostgreSQL catalog (Docs/deployment.md); sqlite:///PATH for a SQLite file elsewhere."
        ) { s, v throws(GateError) in
            s.catalogURL = v
            _ = try CatalogLocation(s)  // refused here, with the key's name, rather than at first use
        },
        SettingKey(
            name: "catalog.quick_check", defaultText: "true",
            help: "Check the catalog's structure (SQLite quick_check) when opening it; false skips it (huge catalogs)."
        ) { s, v throws(GateError) in s.catalogGuards.quickCheck = try boolean(v, "catalog.quick_check") },
        SettingKey(
            name: "catalog.orphan_grace", defaultText: "1h",
            help: "A blob with no catalog row is moved to <data_dir>/quarantine once it is this old."
        ) { s, v throws(GateError) in s.catalogGuards.orphanGrace = try duration(v, "catalog.orphan_grace") },
        SettingKey(
            name: "catalog.orphan_sweep_limit", defaultText: "5",
            help: "More orphan blobs than this at once: none is moved, the server reports them instead."
        ) { s, v throws(GateError) in
            s.catalogGuards.orphanSweepLimit = try count(v, "catalog.orphan_sweep_limit")
        },
        SettingKey(
            name: "catalog.pool_size", defaultText: "8",
            help: "PostgreSQL catalog: connections per process; keep pool_size × nodes below max_connections."
        ) { s, v throws(GateError) in
            s.catalogGuards.poolSize = try count(v, "catalog.pool_size", min: 1)
        },
    ]
}
