//===----------------------------------------------------------------------===//
// ImageGate: what /readyz and /metrics ask a catalog: is it reachable, how many images per status.
//===----------------------------------------------------------------------===//
import GateCore

/// Checks a store can answer cheaply, apart from `CatalogStore` so each backend brings its own.
public protocol CatalogHealth: Sendable {
    /// Throws when the catalog cannot answer a trivial query within about `timeoutMs`.
    func readinessProbe(timeoutMs: Int32) throws(GateError)
    /// Images and their bytes per status (`deleted` included: the recycle bin holds bytes too).
    func imageTotals() throws(GateError) -> [(status: String, images: Int64, bytes: Int64)]
}

extension GateError {
    /// A write the catalog refused because its storage is full (SQLite's SQLITE_FULL). When the catalog shares
    /// a file system with import staging (the embedded default), the bytes of the import that filled it are
    /// the likely cause: the caller frees them before recording anything (Docs/recovery.md).
    public static let catalogFull = GateError(.io, "the catalog's storage is full")
    public var isCatalogFull: Bool { code == .io && message == Self.catalogFull.message }
}
