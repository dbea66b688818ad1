//===----------------------------------------------------------------------===//
// ImageGate: ImageService: image list, show, edit, delete, restore, destroy and retention purge.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension ImageService {
    /// Most ids one batch delete accepts.
    public static let maxBatch = 500

    // MARK: Reading

    /// Images the caller sees. Non-admins are confined to their tenant whatever `q.tenant` says.
    public func listImages(_ p: Principal, _ q: ImageQuery) throws(GateError) -> ImagePage {
        var q = try validated(q)
        if let own = try scope(p) { q.tenant = own }
        let page = try store.queryImages(q)
        recordCrossTenantRead(p, "image.list", target: q.tenant?.description ?? "*", targetTenant: q.tenant)
        return page
    }

    /// The recycle bin: like `listImages` with statuses forced to `[.deleted]`.
    public func recycleBin(_ p: Principal, _ q: ImageQuery) throws(GateError) -> ImagePage {
        var q = q
        q.statuses = [.deleted]
        return try listImages(p, q)
    }

    /// One image; another tenant's image is `.notFound` with the same message as a missing one.
    public func image(_ p: Principal, _ id: ImageID) throws(GateError) -> ImageRecord {
        let record = try visibleImage(p, id)
        recordCrossTenantRead(p, "image.show", target: id.description, targetTenant: record.tenant)
        return record
    }

    private func validated(_ q: ImageQuery) throws(GateError) -> ImageQuery {
        var q = q
        try q.checkPage(maxOffset: 10_000_000)
        q.search = try TextRules.filter(q.search, field: "search")
        q.tag = try TextRules.filter(q.tag, field: "tag")
        q.systemType = try TextRules.filter(q.systemType, field: "system type")
        q.architecture = try TextRules.filter(q.architecture, field: "architecture")
        if let statuses = q.statuses, statuses.isEmpty { throw .invalid("statuses must not be empty") }
        return q
    }

    // MARK: Editing

    /// Edits name, remarks, tags, project group (legal in every status). Renaming also renames the
    /// download file name. An empty patch changes nothing and is not audited.
    public func updateImage(_ p: Principal, _ id: ImageID, _ patch: ImagePatch, source: String) throws(GateError)
        -> ImageRecord
    {
        let before = try visibleImage(p, id)
        try require(
            p, .manageImages, action: "image.update", target: id.description, targetTenant: before.tenant,
            source: source)
        let patch = try patch.validated()
        if patch.isEmpty { return before }
        let after = try store.update(id) { (r: inout ImageRecord) throws(GateError) in
            if let name = patch.name {
                _ = try ImageLifecycle.next(r.status, .rename)
                r.name = name
                r.fileName = ImageRecord.downloadFileName(name: name, format: r.format)
            }
            if let remarks = patch.remarks {
                _ = try ImageLifecycle.next(r.status, .editRemarks)
                r.remarks = remarks
            }
            if let tags = patch.tags {
                _ = try ImageLifecycle.next(r.status, .editTags)
                r.tags = tags
            }
            if let group = patch.projectGroup {
                _ = try ImageLifecycle.next(r.status, .editTags)
                r.projectGroup = group
            }
        }
        var fields: [String] = []
        if patch.name != nil { fields.append("name") }
        if patch.remarks != nil { fields.append("remarks") }
        if patch.tags != nil { fields.append("tags") }
        if patch.projectGroup != nil { fields.append("project_group") }
        record(
            p, "image.update", target: id.description, targetTenant: after.tenant, source: source,
            detail: ["fields": fields.joined(separator: ","), "name": after.name])
        return after
    }

    // MARK: Recycle bin

    /// `available`/`failed` → `deleting` → `deleted` (bytes kept), generation + 1 so every link minted
    /// before stops working. Refused while VMs made from the image exist, naming them.
    public func deleteImage(_ p: Principal, _ id: ImageID, source: String) throws(GateError) -> ImageRecord {
        let before = try visibleImage(p, id)
        try require(
            p, .manageImages, action: "image.delete", target: id.description, targetTenant: before.tenant,
            source: source)
        let now = clock.now()
        var usedByVMs = false
        do {
            _ = try store.update(id) { (r: inout ImageRecord) throws(GateError) in
                _ = try ImageLifecycle.next(r.status, .delete)
                // vmCount is read inside this transaction, so a VM attached concurrently cannot slip by.
                guard r.vmCount == 0 else {
                    usedByVMs = true
                    throw .conflict("image is used by VMs")
                }
                try ImageLifecycle.apply(.delete, to: &r, now: now)
            }
        } catch  where usedByVMs {
            let vms = (try? store.vmReferences(image: id).map(\.vmID)) ?? []
            let noun = vms.count == 1 ? "VM" : "VMs"
            throw .conflict("image is used by \(vms.count) \(noun): \(vms.joined(separator: ", "))")
        }
        let after = try finishDelete(id, now: now)
        record(
            p, "image.delete", target: id.description, targetTenant: after.tenant, source: source,
            detail: ["generation": String(after.generation), "status_before": after.statusBeforeDelete?.rawValue ?? ""])
        webhookEvents.image("image.deleted", after)
        return after
    }

    /// Second step of a delete. Also completes a delete a crash interrupted (see `purgeExpired`); a row
    /// another process already finished is left as it is.
    private func finishDelete(_ id: ImageID, now: Int64) throws(GateError) -> ImageRecord {
        try store.update(id) { (r: inout ImageRecord) throws(GateError) in
            if r.status == .deleting { try ImageLifecycle.apply(.finishDelete, to: &r, now: now) }
        }
    }

    /// Deletes each id independently; one answer per id, in order. More than 500 ids: every answer is
    /// `.invalidRequest` and nothing changes.
    public func deleteImages(_ p: Principal, _ ids: [ImageID], source: String)
        -> [(ImageID, Result<ImageRecord, GateError>)]
    {
        guard ids.count <= Self.maxBatch else {
            let error = GateError.invalid("a batch holds at most \(Self.maxBatch) ids")
            return ids.map { ($0, .failure(error)) }
        }
        return ids.map { id in
            do throws(GateError) { return (id, .success(try deleteImage(p, id, source: source))) } catch {
                return (id, .failure(error))
            }
        }
    }

    /// `deleted` → the status it had before (`available` or `failed`), generation + 1. An image restored
    /// as available whose bytes are gone or damaged comes back `failed` instead.
    public func restoreImage(_ p: Principal, _ id: ImageID, source: String) throws(GateError) -> ImageRecord {
        let before = try visibleImage(p, id)
        try require(
            p, .manageImages, action: "image.restore", target: id.description, targetTenant: before.tenant,
            source: source)
        let now = clock.now()
        let after = try store.update(id) { (r: inout ImageRecord) throws(GateError) in
            try ImageLifecycle.apply(.restore, to: &r, now: now)
            if r.status == .available, blobs.blobSize(r.id) != r.size {
                r.status = .failed
                r.failureReason = CatalogRecovery.damagedReason
            }
        }
        record(
            p, "image.restore", target: id.description, targetTenant: after.tenant, source: source,
            detail: ["generation": String(after.generation), "status": after.status.rawValue])
        webhookEvents.image(after.status == .available ? "image.available" : "image.failed", after)
        return after
    }

    /// Destroys a `deleted` image for good: the row goes (so every link to it fails as "not found", which is
    /// stronger than a generation bump), then the bytes. Tenant admins only. Audit history and token issue
    /// records remain.
    public func destroyImage(_ p: Principal, _ id: ImageID, source: String) throws(GateError) {
        let before = try visibleImage(p, id)
        try require(
            p, .destroyImages, action: "image.destroy", target: id.description, targetTenant: before.tenant,
            source: source)
        let removed = try store.removeImage(id) { (r: ImageRecord) throws(GateError) in
            _ = try ImageLifecycle.next(r.status, .destroy)
        }
        // Row first, bytes second: a crash in between leaves an orphan blob that `OrphanBlobSweep` moves to
        // quarantine, never a row pointing at missing bytes.
        blobs.remove(id)
        record(
            p, "image.destroy", target: id.description, targetTenant: removed.tenant, source: source,
            detail: ["name": removed.name, "sha256": removed.sha256])
    }

    /// Retention: destroys (as `Principal.system`, action "image.purge") every image deleted at least
    /// `retention` seconds ago. Also finishes deletes a crash left in `deleting`. Blobs whose row no longer
    /// exists are not this method's business: `OrphanBlobSweep` quarantines them, a few at a time, because a
    /// lost catalog makes every blob look like one. Returns the purged ids.
    public func purgeExpired() throws(GateError) -> [ImageID] {
        let now = clock.now()
        var purged: [ImageID] = []
        for r in try store.images(tenant: nil) {
            if r.status == .deleting { _ = try? finishDelete(r.id, now: now) }
            guard r.status == .deleted, let deletedAt = r.deletedAt, deletedAt <= now - retention else { continue }
            do {
                let removed = try store.removeImage(r.id) { (cur: ImageRecord) throws(GateError) in
                    // Restored (or restored and deleted again) since the list was read: not expired any more.
                    guard cur.status == .deleted, cur.deletedAt == deletedAt else { throw .conflict("changed") }
                }
                blobs.remove(r.id)
                purged.append(r.id)
                record(
                    .system, "image.purge", target: r.id.description, targetTenant: removed.tenant, source: "system",
                    detail: ["deleted_at": String(deletedAt), "retention": String(retention)])
            } catch  where error.code == .conflict || error.code == .notFound {
                continue
            }
        }
        return purged
    }
}
