//===----------------------------------------------------------------------===//
// ImageGate: one resumable upload (tus): its offset, its staging sink, and who may write it.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import Synchronization

/// The server side of one tus upload. PATCH requests are serialized by `busy` (tus forbids concurrent
/// writes to one upload); the sink is created on the first PATCH, or rebuilt from the staging file after a
/// restart or a rejected chunk.
final class UploadSession: @unchecked Sendable {
    struct State {
        var sink: ImportSink?
        var offset: UInt64
        var busy = false
        var finished = false
        /// Progress bookkeeping: the recent (time, bytes) samples written to the catalog.
        var lastReport = ProgressWindow()
    }

    let uploadID: String
    let imageID: ImageID
    let tenant: TenantID
    let length: UInt64
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

    func withState<T>(_ body: (inout State) -> T) -> T {
        lock.withLock { _ in body(&stateStorage) }
    }
}
