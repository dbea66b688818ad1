//===----------------------------------------------------------------------===//
// ImageGate: the image status rules, in one table.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

/// The one place that decides which operation is legal in which status. The service, the importers and
/// the tests all go through `next` (and `apply`, which also keeps the recycle-bin fields and generation).
public enum ImageLifecycle {
    public enum Operation: String, Sendable, CaseIterable {
        case rename, editRemarks, editTags, delete, finishDelete, restore, destroy, download, attachVM
        case startImport, finishImport, failImport, cancelImport, startMaking, finishMaking, failMaking
        /// `image verify` or the background scrub found the stored bytes are not the recorded ones.
        case failVerify

        /// Words for "cannot <verb> an image that is <status>".
        public var verb: String {
            switch self {
            case .rename: "rename"
            case .editRemarks: "edit the remarks of"
            case .editTags: "edit the tags of"
            case .delete: "delete"
            case .finishDelete: "finish deleting"
            case .restore: "restore"
            case .destroy: "destroy"
            case .download: "download"
            case .attachVM: "create a VM from"
            case .startImport: "start an import into"
            case .finishImport: "finish the import of"
            case .failImport: "fail the import of"
            case .cancelImport: "cancel the import of"
            case .startMaking: "start making"
            case .finishMaking: "finish making"
            case .failMaking: "fail the making of"
            case .failVerify: "mark as corrupt"
            }
        }

        /// Operations after which every download link minted before must stop working (Docs/protocols.md §3.5).
        public var bumpsGeneration: Bool { self == .delete || self == .restore || self == .destroy }
    }

    /// The status after `op` from `status`, or `.conflict("cannot <op> an image that is <status>")`.
    ///
    /// `restore` answers `available` here; `apply` restores to the status recorded at delete time
    /// (`available` or `failed`). `destroy` leaves `deleted`: the row itself is removed afterwards.
    public static func next(_ status: ImageStatus, _ op: Operation) throws(GateError) -> ImageStatus {
        switch (op, status) {
        // Name, remarks, tags and project group are descriptive: editable in any state (user guide).
        case (.rename, _), (.editRemarks, _), (.editTags, _): return status
        // Only finished images go to the recycle bin; in-progress ones are cancelled first.
        case (.delete, .available), (.delete, .failed): return .deleting
        case (.finishDelete, .deleting): return .deleted
        case (.restore, .deleted): return .available
        case (.destroy, .deleted): return .deleted
        case (.download, .available), (.attachVM, .available): return .available
        // New images are inserted already `uploading`/`making`; these are retries of a failed one in place.
        case (.startImport, .failed): return .uploading
        case (.startMaking, .failed): return .making
        case (.finishImport, .uploading), (.finishMaking, .making): return .available
        case (.failImport, .uploading), (.cancelImport, .uploading), (.failMaking, .making): return .failed
        // Bytes that no longer match their digest must not be served; the image can be deleted or re-imported.
        case (.failVerify, .available): return .failed
        default: throw .conflict("cannot \(op.verb) an image that is \(status.rawValue)")
        }
    }

    /// Applies `op` to a record: the status from `next`, plus the recycle-bin bookkeeping and the
    /// generation bump. Throws (changing nothing) when illegal.
    public static func apply(_ op: Operation, to r: inout ImageRecord, now: Int64) throws(GateError) {
        var status = try next(r.status, op)
        switch op {
        case .delete:
            r.statusBeforeDelete = r.status
            r.deletedAt = now
        case .restore:
            status = r.statusBeforeDelete == .available ? .available : .failed
            r.statusBeforeDelete = nil
            r.deletedAt = nil
        case .cancelImport:
            r.failureReason = "cancelled"
        default:
            break
        }
        r.status = status
        if op.bumpsGeneration { r.generation &+= 1 }
    }
}
