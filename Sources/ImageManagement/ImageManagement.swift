//===----------------------------------------------------------------------===//
// ImageGate: ImageManagement module root; re-exports the catalog types it speaks in.
//===----------------------------------------------------------------------===//

// Tenants, accounts, API key infos, VM references, audit events and image queries are stored by
// `CatalogStore`, so they are declared in ImageCatalog; re-exporting lets `import ImageManagement` alone
// name them (and `ImageRecord`, `ImageStatus`, `TokenIssue`, …), as the management API and CLI do.
@_exported import ImageCatalog
