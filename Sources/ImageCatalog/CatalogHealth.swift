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
