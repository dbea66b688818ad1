//===----------------------------------------------------------------------===//
// ImageGate: PUT /api/v1/images/{id}/content: the compute side streams a VM's disk into a `making` image.
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import ImageCatalog
import ImageInspection
import ImageManagement
import ImportPipeline

/// The body of one content PUT, through the same checks as any import (hash, inspection, caps). The image
/// ends `available` once its bytes are durable, or `failed` with the reason.
final class MakingSink: BodySink {
    private let imports: ImportManager
    private let record: ImageRecord
    private var sink: ImportSink?
    private var failure: ImportFailure?
    private var last = ProgressWindow()
    private let total: UInt64

    private init(imports: ImportManager, record: ImageRecord, sink: ImportSink, total: UInt64) {
        self.imports = imports
        self.record = record
        self.sink = sink
        self.total = total
    }

    static func start(_ imports: ImportManager, _ p: Principal, _ id: ImageID, length: UInt64, source: String)
        -> BodyHandling
    {
        do throws(GateError) {
            let record = try imports.service.image(p, id)
            guard p.may(.manageImages) else { throw GateError(.permissionDenied, "\(p.name) may not make images") }
            guard record.status == .making else {
                throw GateError.conflict("image \(id) is \(record.status.rawValue); content goes to images being made")
            }
            let job = try imports.store.importJob(image: id)
            let cap = try imports.service.remainingQuota(record.tenant, imports.settings.quota, excluding: id)
            if let cap, length > cap {
                throw GateError(.forbiddenByPolicy, "the image is larger than the allowed \(cap) bytes")
            }
            // A retried PUT starts over: earlier partial bytes are dropped.
            for staged in imports.blobs.stagedBlobs(of: id) { imports.blobs.removeStaging(staged) }
            let sink = try ImportSink.create(
                record, blobs: imports.blobs, declared: ImportManager.declared(record.format),
                encrypted: job?.encrypted ?? record.encrypted, cap: cap, expectedSHA256: job?.expectedSHA256)
            return .stream(MakingSink(imports: imports, record: record, sink: sink, total: length))
        } catch {
            return .refuse(APIError.response(error))
        }
    }

    func consume(_ bytes: UnsafeRawBufferPointer, later: ConnectionWaker) -> BodyStep {
        guard let sink else { return .stop }
        if let f = sink.write(bytes) {
            failure = f
            return .stop
        }
        imports.reportProgress(record.id, bytes: sink.bytes, total: total, last: &last)
        return .more
    }

    func complete(later: ConnectionWaker) -> Response? {
        guard let sink else { return APIError.response(.internal("no sink")) }
        self.sink = nil
        if let failure {
            sink.abandon()
            imports.fail(record.id, reason: failure.reason)
            switch failure.cause {
            case .refused: return APIError.response(.invalid("image refused: \(failure.reason)"))
            case .storageFull, .storage:
                // The server's fault, not the bytes' (PatchSink.status): 507 for a full disk, else 500.
                let status = PatchSink.status(failure.cause)
                return APIReply.json(
                    status,
                    [
                        "error": [
                            "code": failure.cause == .storageFull ? "insufficient_storage" : GateError.Code.io.rawValue,
                            "message": "import failed: \(failure.reason)",
                        ]
                    ])
            }
        }
        let bytes = sink.bytes
        imports.finalizeInBackground(sink, id: record.id)
        return APIReply.json(
            202,
            [
                "id": record.id.description, "status": "making", "bytes": bytes,
                "message": "received; the image becomes available once its bytes are verified",
            ])
    }

    func abandon() {
        sink?.abandon()
        sink = nil
        imports.fail(record.id, reason: "the VM disk stream was cut off")
    }
}

@available(*, unavailable)
extension MakingSink: Sendable {}
