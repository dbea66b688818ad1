//===----------------------------------------------------------------------===//
// ImageGate: both stores say "the catalog's storage is full" the same way, so an import that filled the disk
// is failed and its bytes freed whichever store the catalog is on (PatchSink, Docs/catalog.md).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
@testable import PostgresCatalog
import PostgresClient
import Testing

@Suite struct ErrorMappingTests {
    @Test func postgresDiskFullIsCatalogFull() {
        let full = PostgresCatalogStore.mapped(
            PostgresError(.server, "could not extend file: No space left on device", sqlState: "53100"))
        #expect(full.isCatalogFull)
        let other = PostgresCatalogStore.mapped(PostgresError(.server, "relation does not exist", sqlState: "42P01"))
        #expect(!other.isCatalogFull && other.code == .io)
        #expect(
            PostgresCatalogStore.mapped(PostgresError(.uniqueViolation, "dup", sqlState: "23505")).code
                == .alreadyExists)
    }
}
