//===----------------------------------------------------------------------===//
// ImageGate: who may write a tus upload: the node running a PATCH (or the finalize) holds its lease; between
// PATCHes nobody does, so the next PATCH may reach any node behind a balancer (no sticky sessions).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import ImageManagement

/// What `claimUpload` found.
package enum UploadClaim: Equatable {
    /// This process holds the upload's lease now (taken, or already its own).
    case claimed
    /// Another process holds it, live: a PATCH or the finalize runs there.
    case heldElsewhere(LeaseHolder)
    /// The import is over (finished, failed, cancelled) or gone.
    case gone
    /// The catalog could not take the lease (unreachable, busy, full): nothing was decided.
    case catalogFailed(GateError)
}

extension ImportManager {
    /// Takes the lease of upload `id` for a PATCH, unless another process holds it live: tus forbids
    /// concurrent writes to one upload, and with several nodes sharing its staging file only the holder may
    /// write it. Same transaction as the liveness check (`claimLease`), so of two nodes at most one gets it.
    package func claimUpload(_ id: ImageID) -> UploadClaim {
        let now = service.clock.now()
        startHeartbeat()  // a long PATCH keeps its lease live
        let me = LeaseHolder.current
        var other: LeaseHolder?
        do {
            let taken = try store.claimLease(id, ImportLease(heartbeat: now)) { lease in
                guard lease.holder != me, lease.isLive(now: now) else { return false }
                other = lease.holder
                return true
            }
            if taken { return .claimed }
        } catch  where error.code == .notFound {
            return .gone
        } catch {
            return .catalogFailed(error)
        }
        if let other { return .heldElsewhere(other) }
        return .gone
    }

    /// Gives the lease of upload `id` up between PATCHes (only if this process holds it), so the client's next
    /// PATCH may go to any node; also hands a new URL import this process will not fetch to the server nodes. A failure is logged: the lease then stays live here until this process
    /// stops, and PATCHes reaching other nodes meanwhile get 409.
    package func releaseUpload(_ id: ImageID) {
        let now = service.clock.now()
        let me = LeaseHolder.current
        do {
            _ = try store.claimLease(id, .released(now: now), unless: { $0.holder != me })
        } catch {
            logger.warning("upload \(id): cannot release its lease: \(error.message)")
        }
    }
}
