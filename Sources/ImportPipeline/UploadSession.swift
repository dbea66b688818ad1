//===----------------------------------------------------------------------===//
// ImageGate: one resumable upload (tus): its offset, its staging sink, and who may write it.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Synchronization

/// The server side of one tus upload. PATCH requests are serialized by `busy` (tus forbids concurrent
/// writes to one upload); the sink is created on the first PATCH, or rebuilt from the staging file after a
/// restart or a rejected chunk.
package final class UploadSession: @unchecked Sendable {
    package struct State {
        package var sink: ImportSink?
        package var offset: UInt64
        package var busy = false
        /// A PATCH writes to `sink` outside the lock (an object store's part upload takes seconds, and a HEAD
        /// or a cancel must not wait that long for the lock): a cancel meanwhile leaves the sink's abandon to
        /// that PATCH, which finds `sink` gone once its write returns.
        package var writing = false
        package var finished = false
        /// Progress bookkeeping: the recent (time, bytes) samples written to the catalog.
        package var lastReport = ProgressWindow()
    }

    package let uploadID: String
    package let imageID: ImageID
    package let tenant: TenantID
    package let length: UInt64
    let expiresAt: Int64
    let job: ImportJob
    // @unchecked Sendable: `stateStorage` (which holds the non-Sendable sink) is only touched under `lock`,
    // and a sink is used by one PATCH at a time (`busy`).
    private var stateStorage: State
    private let lock = Mutex(())

    init(job: ImportJob, tenant: TenantID, offset: UInt64) {
        self.uploadID = job.uploadID ?? ""
        self.imageID = job.imageID
        self.tenant = tenant
        self.length = job.totalSize ?? 0
        self.expiresAt = job.expiresAt ?? .max
        self.job = job
        self.stateStorage = State(offset: offset)
    }

    package func withState<T>(_ body: (inout State) -> T) -> T {
        lock.withLock { _ in body(&stateStorage) }
    }
}
