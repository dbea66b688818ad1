//===----------------------------------------------------------------------===//
// ImageGate: the PostgreSQL store's first-use lock: processes initializing one empty catalog take turns.
//===----------------------------------------------------------------------===//
import Glibc
import GateCore
import ImageCatalog
import PostgresCatalog
import PostgresClient
import Testing

@Suite struct PostgresInitializationLockTests {
    /// Several stores (one per process) enter `withInitializationLock` at once: never two inside together, and
    /// a "create the administrator unless there is one" body inside it runs its create exactly once.
    @Test(.enabled(if: StoreKind.available.contains(.postgres), "IMAGEGATE_TEST_PG_URL unset"))
    func initializationIsSerializedAcrossStores() throws {
        let catalog = try TestCatalog(.postgres)
        let stores = try (0..<4).map { _ in try #require(try catalog.open() as? PostgresCatalogStore) }
        let inside = Collected<Int>()
        let overlaps = Collected<Int>()
        let created = Collected<Int>()
        try onThreads(stores.count) { i in
            try stores[i].withInitializationLock { () throws(GateError) in
                inside.append(i)
                defer { inside.append(-i - 1) }
                // Another holder inside now would have entered without leaving: the log shows it.
                if try stores[i].accounts(tenant: nil).isEmpty {
                    usleep(20_000)  // widen the window a racing creator would need
                    try stores[i].insertAccount(
                        Account(
                            id: "acc-\(i)", tenant: nil, kind: .platformAdmin, permission: .manage, name: "admin",
                            createdAt: 1))
                    created.append(i)
                }
            }
        }
        // Entries and exits strictly alternate: i, -i-1, j, -j-1, ...
        let log = inside.all
        for k in stride(from: 0, to: log.count, by: 2) where log[k + 1] != -log[k] - 1 { overlaps.append(k) }
        #expect(log.count == 2 * stores.count && overlaps.all.isEmpty)
        #expect(created.all.count == 1)
        #expect(try stores[0].accounts(tenant: nil).count == 1)
    }

    /// Nodes starting on one empty database at the same moment all come up, and the schema is applied once.
    @Test(.enabled(if: StoreKind.available.contains(.postgres), "IMAGEGATE_TEST_PG_URL unset"))
    func storesOpeningAtOnceMigrateOnce() throws {
        let catalog = try TestCatalog(.postgres)
        let url = try #require(catalog.postgresURL)
        let stores = Collected<PostgresCatalogStore>()
        try onThreads(4) { _ in
            stores.append(try PostgresCatalogStore.open(url: url, poolSize: 2, clock: SystemClock()))
        }
        #expect(stores.all.count == 4)
        let record = sampleRecord()
        try stores.all[0].insert(record)
        #expect(try stores.all[3].image(record.id) == record)
        let admin = try PostgresConnection(url: url)
        defer { admin.close() }
        let applied = try admin.query("SELECT version, name FROM catalog_migrations").rows
        #expect(applied.count == PostgresCatalogSchema.migrations.count)
        #expect(try applied.map { try $0.string(1) } == PostgresCatalogSchema.migrations.map(\.name))
        for store in stores.all { store.close() }
    }
}
