//===----------------------------------------------------------------------===//
// ImageGate: first use of an empty catalog by several processes at once (nodes, CLIs): one administrator,
// one API key, handed to exactly one of them.
//===----------------------------------------------------------------------===//
import Dispatch
import GateCore
import ImageCatalog
import ImageManagement
import SQLiteCatalog
import Synchronization
import Testing

@Suite struct BootstrapRaceTests {
    // Repeated: a lost race shows only now and then (seen: one run in three without the fix).
    @Test(arguments: 0..<6) func manyProcessesBootstrapOneAdministrator(round: Int) throws {
        let dir = TempDir()
        let path = dir.path + "/catalog.db"
        // One store per "process": separate connections to one file, as separate processes have.
        let services = try (0..<6).map { _ in
            ImageService(
                store: try SQLiteCatalogStore.open(path: path, clock: ManualClock(1_700_000_000)),
                blobs: BlobStore(root: dir.path), clock: ManualClock(1_700_000_000), retention: 86_400)
        }
        let results = Mutex<[(String, Bool)]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: services.count) { i in
            do {
                let (admin, secret) = try services[i].bootstrap()
                results.withLock { $0.append((admin.id, secret != nil)) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let seen = results.withLock { $0 }
        #expect(seen.count == services.count)
        #expect(Set(seen.map(\.0)).count == 1, "every process names the same administrator")
        #expect(seen.filter(\.1).count == 1, "exactly one process got the administrator's key")
        let store = try SQLiteCatalogStore.open(path: path, clock: ManualClock(1))
        #expect(try store.accounts(tenant: nil).filter { $0.kind == .platformAdmin }.count == 1)
        #expect(try store.apiKeys(accountID: seen[0].0, tenant: nil).count == 1)
    }
}
