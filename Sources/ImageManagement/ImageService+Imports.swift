//===----------------------------------------------------------------------===//
// ImageGate: ImageService: creating imports, their progress, their end (available, failed, cancelled).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

/// Per-tenant limits on imports (issue "Imports", item 8).
public struct ImportQuota: Sendable, Equatable {
    /// Bytes one import may bring in (0 = no limit).
    public var maxImportBytes: UInt64 = 0
    /// Bytes a tenant's images may occupy in all, the recycle bin included (0 = no limit).
    public var tenantBytes: UInt64 = 0
    /// Images a tenant may have, the recycle bin included (0 = no limit).
    public var tenantImages: Int = 0
    public init() {}
}

extension ImageService {
    /// Creates the image row (`uploading`, or `making` for a VM source) of a checked import request, owned by
    /// `lease`. The bytes come later; the row is never `available` before they are verified.
    public func createImport(
        _ p: Principal, _ request: ImportRequest, matrix: OSMatrix, quota: ImportQuota, lease: ImportLease,
        source: String
    ) throws(GateError) -> ImageRecord {
        let target: TenantID
        if p.isPlatformAdmin {
            target = request.tenant ?? .defaultTenant
            guard try store.tenant(target) != nil else { throw GateError.notFound("no tenant \(target)") }
        } else {
            guard let own = p.tenant else { throw GateError(.permissionDenied, "the account belongs to no tenant") }
            if let t = request.tenant, t != own { throw GateError.notFound("no tenant \(t)") }
            target = own
        }
        try require(p, .manageImages, action: "image.import", target: "-", targetTenant: target, source: source)
        let r = try request.validated(matrix: matrix)
        try checkQuota(target, quota, incoming: { if case .upload(let s) = r.source { return s } else { return 0 } }())
        let now = clock.now()
        let isVM: Bool = { if case .vm = r.source { return true } else { return false } }()
        var new = ImageRecord(
            id: ImageRecord.newID(), tenant: target, name: r.name, remarks: r.remarks,
            fileName: ImageRecord.downloadFileName(name: r.name, format: r.format), format: r.format,
            status: isVM ? .making : .uploading, createdAt: now, updatedAt: now, kind: r.kind, encrypted: r.encrypted,
            features: r.features, systemType: r.systemType, osRelease: r.osRelease, platform: r.platform,
            osVersion: r.osVersion, architecture: r.architecture, bootMode: r.bootMode, tags: r.tags)
        if case .upload(let size) = r.source { new.progressTotal = size }
        try store.insert(new, lease: lease)
        var detail = ["name": r.name, "kind": r.kind.rawValue]
        switch r.source {
        case .url(let u):
            detail["source"] = "url"
            detail["url"] = ImportRequest.redactedURL(u)
        case .upload(let s):
            detail["source"] = "upload"
            detail["size"] = String(s)
        case .vm(let vm):
            detail["source"] = "vm"
            detail["vm"] = vm
        }
        record(p, "image.import", target: new.id.description, targetTenant: target, source: source, detail: detail)
        return new
    }

    private func checkQuota(_ tenant: TenantID, _ q: ImportQuota, incoming: UInt64) throws(GateError) {
        if q.maxImportBytes > 0 && incoming > q.maxImportBytes {
            throw GateError(
                .forbiddenByPolicy, "the image is larger than the import limit of \(q.maxImportBytes) bytes")
        }
        guard q.tenantBytes > 0 || q.tenantImages > 0 else { return }
        let images = try store.images(tenant: tenant)
        if q.tenantImages > 0 && images.count >= q.tenantImages {
            throw GateError(
                .forbiddenByPolicy, "the tenant already has \(images.count) images (quota \(q.tenantImages))")
        }
        let used = images.reduce(UInt64(0)) { $0 + max($1.size, $1.progressTotal ?? 0) }
        if q.tenantBytes > 0 && used + incoming > q.tenantBytes {
            throw GateError(.forbiddenByPolicy, "the tenant's images would exceed its quota of \(q.tenantBytes) bytes")
        }
    }

    /// Bytes a tenant may still bring in under `q` (nil = no limit), for caps enforced while streaming.
    public func remainingQuota(_ tenant: TenantID, _ q: ImportQuota, excluding id: ImageID) throws(GateError) -> UInt64?
    {
        var limits: [UInt64] = []
        if q.maxImportBytes > 0 { limits.append(q.maxImportBytes) }
        if q.tenantBytes > 0 {
            let used = try store.images(tenant: tenant).filter { $0.id != id }.reduce(UInt64(0)) { $0 + $1.size }
            limits.append(q.tenantBytes > used ? q.tenantBytes - used : 0)
        }
        return limits.min()
    }

    /// Records progress (no audit event; callers throttle to about once a second). `progressAt` moves only
    /// when the byte count does, so readers can tell a stalled transfer from a slow one.
    public func importProgress(_ id: ImageID, bytes: UInt64, total: UInt64?, rate: Double?) {
        let now = clock.now()
        _ = try? store.update(id) { (r: inout ImageRecord) throws(GateError) in
            guard r.status == .uploading || r.status == .making else { return }
            if bytes != r.progressBytes || r.progressAt == nil { r.progressAt = now }
            r.progressBytes = bytes
            if let total { r.progressTotal = total }
            r.progressRate = rate
        }
    }

    /// The verified bytes are in place (finalized in the blob store): the image becomes available.
    public func finishImport(
        _ id: ImageID, size: UInt64, sha256: String, virtualSize: UInt64, format: ImageFormat, encrypted: Bool
    ) throws(GateError) -> ImageRecord {
        let now = clock.now()
        let r = try store.update(id) { (r: inout ImageRecord) throws(GateError) in
            try ImageLifecycle.apply(r.status == .making ? .finishMaking : .finishImport, to: &r, now: now)
            r.size = size
            r.sha256 = sha256
            r.virtualSize = virtualSize
            r.format = format
            // Declared and detected always agree, except for an import that left its format to the bytes.
            r.kind = format == .iso ? .iso : .selfMade
            r.encrypted = encrypted
            r.fileName = ImageRecord.downloadFileName(name: r.name, format: format)
            r.generation &+= 1
            r.finalizedAt = now
            r.progressBytes = size
            r.progressTotal = size
            r.progressRate = nil
        }
        audit(
            .system, action: "image.import.finish", target: id.description, targetTenant: r.tenant, source: "importer",
            outcome: "ok", detail: ["size": String(size), "sha256": sha256])
        countImportEnd(id, result: "ok", bytes: size)
        webhookEvents.image("image.available", r)
        return r
    }

    /// The import failed for `reason` (shown to the tenant): the image is `failed`, deletable and re-importable.
    /// Returns false only when the catalog could not be written (full, busy) and the caller should retry;
    /// an import that already ended (or whose image is gone) is done with: true.
    @discardableResult
    public func failImport(_ id: ImageID, reason: String) -> Bool {
        let now = clock.now()
        var changed = false
        let r: ImageRecord
        do {
            r = try store.update(id) { (r: inout ImageRecord) throws(GateError) in
                guard r.status == .uploading || r.status == .making else { return }
                try ImageLifecycle.apply(r.status == .making ? .failMaking : .failImport, to: &r, now: now)
                r.failureReason = reason
                r.progressRate = nil
                changed = true
            }
        } catch {
            return error.code != .io
        }
        if changed {
            audit(
                .system, action: "image.import.fail", target: id.description, targetTenant: r.tenant,
                source: "importer", outcome: "error", detail: ["reason": reason])
            countImportEnd(id, result: "failed")
            webhookEvents.image("image.failed", r)
        }
        return true
    }

    /// "Cancel upload": the image becomes `failed` with reason `cancelled`. The caller stops the transfer and
    /// removes partial bytes.
    public func cancelImport(_ p: Principal, _ id: ImageID, source: String) throws(GateError) -> ImageRecord {
        let before = try visibleImage(p, id)
        try require(
            p, .manageImages, action: "image.cancel", target: id.description, targetTenant: before.tenant,
            source: source)
        let now = clock.now()
        let after = try store.update(id) { (r: inout ImageRecord) throws(GateError) in
            if r.status == .making {
                try ImageLifecycle.apply(.failMaking, to: &r, now: now)
                r.failureReason = "cancelled"
            } else {
                try ImageLifecycle.apply(.cancelImport, to: &r, now: now)
            }
            r.progressRate = nil
        }
        record(p, "image.cancel", target: id.description, targetTenant: after.tenant, source: source)
        countImportEnd(id, result: "cancelled")
        webhookEvents.image("image.failed", after)
        return after
    }
}
