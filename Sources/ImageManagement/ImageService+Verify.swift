//===----------------------------------------------------------------------===//
// ImageGate: ImageService: verifying stored bytes against the catalog and failing corrupt images.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension ImageService {
    /// The images a full verification covers: every `available` one (the only status downloads are served in),
    /// oldest first. Blobs of images in the recycle bin are not checked until they are restored.
    public func verifiableImages() throws(GateError) -> [ImageRecord] {
        try store.images(tenant: nil).filter { $0.status == .available }
    }

    /// Re-hashes `image`'s blob and, when its bytes are not the recorded ones (missing, other size, other
    /// digest), moves the image to `failed` with the reason (lifecycle operation `failVerify`) and appends an
    /// `image.verify.fail` audit event. Downloads stop because the authorizer serves only `available` images.
    ///
    /// The image is failed only if it is still the one that was read (available, same generation and digest):
    /// an image deleted or re-imported meanwhile gives `.superseded` and is left alone.
    /// Blocking for as long as the read takes (see `BlobVerifier`).
    public func verifyImage(
        _ image: ImageRecord, verifier: BlobVerifier, source: String, progress: (UInt64) -> Void = { _ in },
        shouldStop: () -> Bool = { false }
    ) throws(GateError) -> BlobCheck {
        let result = verifier.check(image, progress: progress, shouldStop: shouldStop)
        guard result.isCorrupt else { return result }
        let reason = result.reason(expected: image)
        let now = clock.now()
        var failed = false
        let after: ImageRecord
        do {
            after = try store.update(image.id) { (r: inout ImageRecord) throws(GateError) in
                guard r.status == .available, r.generation == image.generation, r.sha256 == image.sha256,
                    r.size == image.size
                else { return }
                try ImageLifecycle.apply(.failVerify, to: &r, now: now)
                r.failureReason = reason
                failed = true
            }
        } catch  where error.code == .notFound {
            return .superseded
        }
        guard failed else { return .superseded }
        var detail = ["reason": reason, "expected_sha256": image.sha256, "expected_size": String(image.size)]
        switch result {
        case .wrongDigest(let actual): detail["actual_sha256"] = actual
        case .wrongSize(let actual): detail["actual_size"] = String(actual)
        default: break
        }
        audit(
            .system, action: "image.verify.fail", target: image.id.description, targetTenant: after.tenant,
            source: source, outcome: "error", detail: detail)
        webhookEvents.image("image.failed", after)
        return result
    }
}
