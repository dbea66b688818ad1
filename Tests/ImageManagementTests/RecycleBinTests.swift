//===----------------------------------------------------------------------===//
// ImageGate: recycle bin round trips, VM references, batch delete, retention purge.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog
import ImageManagement
import SQLiteCatalog
import Testing

@Suite struct RecycleBinTests {
    @Test func deleteRestoreDeleteRestoreBumpsGeneration() throws {
        let w = try World()
        let img = try w.image(w.tenantA)  // generation 1
        var r = try w.service.deleteImage(w.manageA, img.id, source: "t")
        #expect(r.status == .deleted && r.generation == 2 && r.statusBeforeDelete == .available)
        #expect(r.deletedAt == w.clock.now())
        #expect(try w.service.listImages(w.ownerA, ImageQuery()).items.isEmpty)
        #expect(try w.service.recycleBin(w.ownerA, ImageQuery()).items.map(\.id) == [img.id])
        r = try w.service.restoreImage(w.manageA, img.id, source: "t")
        #expect(r.status == .available && r.generation == 3 && r.statusBeforeDelete == nil && r.deletedAt == nil)
        _ = try w.service.deleteImage(w.manageA, img.id, source: "t")
        r = try w.service.restoreImage(w.manageA, img.id, source: "t")
        #expect(r.generation == 5 && r.status == .available)
        #expect(try w.events("image.delete").count == 2 && w.events("image.restore").count == 2)
        // Restore of a non-deleted image is a conflict with the table's message.
        let err = #expect(throws: GateError.self) { try w.service.restoreImage(w.ownerA, img.id, source: "t") }
        #expect(err?.code == .conflict && err?.message == "cannot restore an image that is available")
    }

    @Test func failedImageComesBackFailedAndMissingBytesFailRestore() throws {
        let w = try World()
        let failed = try w.image(w.tenantA, status: .failed)
        _ = try w.service.deleteImage(w.ownerA, failed.id, source: "t")
        #expect(try w.service.restoreImage(w.ownerA, failed.id, source: "t").status == .failed)
        let img = try w.image(w.tenantA)
        _ = try w.service.deleteImage(w.ownerA, img.id, source: "t")
        w.blobs.remove(img.id)
        let r = try w.service.restoreImage(w.ownerA, img.id, source: "t")
        #expect(r.status == .failed && r.failureReason == CatalogRecovery.damagedReason)
    }

    @Test func deleteDestroyRemovesBytesAndRow() throws {
        let w = try World()
        let img = try w.image(w.tenantA)
        #expect(FileManager.default.fileExists(atPath: w.blobs.path(for: img.id)))
        let notYet = #expect(throws: GateError.self) { try w.service.destroyImage(w.ownerA, img.id, source: "t") }
        #expect(notYet?.code == .conflict)
        _ = try w.service.deleteImage(w.ownerA, img.id, source: "t")
        try w.service.destroyImage(w.ownerA, img.id, source: "t")
        #expect(!FileManager.default.fileExists(atPath: w.blobs.path(for: img.id)))
        #expect(try w.store.image(img.id) == nil)
        #expect(try w.service.recycleBin(w.admin, ImageQuery()).items.isEmpty)
        #expect(code { () throws(GateError) in try w.service.image(w.ownerA, img.id) } == .notFound)
        #expect(try w.events("image.destroy").count == 1)
    }

    @Test func inProgressImagesCannotBeDeleted() throws {
        let w = try World()
        for status in [ImageStatus.uploading, .making] {
            let img = try w.image(w.tenantA, status: status)
            let err = #expect(throws: GateError.self) { try w.service.deleteImage(w.ownerA, img.id, source: "t") }
            #expect(err?.message == "cannot delete an image that is \(status.rawValue)")
            #expect(try w.store.image(img.id)?.status == status)
        }
    }

    @Test func vmReferencesBlockDeleteAndNameTheVMs() throws {
        let w = try World()
        let img = try w.image(w.tenantA)
        _ = try w.service.attachVM(w.manageA, img.id, vmID: "vm-a", source: "t")
        _ = try w.service.attachVM(w.manageA, img.id, vmID: "vm-b", source: "t")
        #expect(try w.service.image(w.viewA, img.id).vmCount == 2)
        #expect(
            code { () throws(GateError) in try w.service.attachVM(w.ownerA, img.id, vmID: "vm-a", source: "t") }
                == .conflict)
        #expect(
            code { () throws(GateError) in try w.service.attachVM(w.ownerA, img.id, vmID: "../etc", source: "t") }
                == .invalidRequest)
        let err = #expect(throws: GateError.self) { try w.service.deleteImage(w.ownerA, img.id, source: "t") }
        #expect(err?.code == .conflict && err?.message == "image is used by 2 VMs: vm-a, vm-b")
        #expect(try w.store.image(img.id)?.status == .available)
        try w.service.detachVM(w.ownerA, img.id, vmID: "vm-a", source: "t")
        try w.service.detachVM(w.ownerA, img.id, vmID: "vm-b", source: "t")
        #expect(
            code { () throws(GateError) in try w.service.detachVM(w.ownerA, img.id, vmID: "vm-b", source: "t") }
                == .notFound)
        #expect(try w.service.vmReferences(w.viewA, img.id).isEmpty)
        #expect(try w.service.deleteImage(w.ownerA, img.id, source: "t").status == .deleted)
        // VMs can only be created from available images.
        #expect(
            code { () throws(GateError) in try w.service.attachVM(w.ownerA, img.id, vmID: "vm-c", source: "t") }
                == .conflict)
    }

    @Test func batchDeleteAnswersPerID() throws {
        let w = try World()
        let ok = try w.image(w.tenantA)
        let failed = try w.image(w.tenantA, status: .failed)
        let busy = try w.image(w.tenantA, status: .uploading)
        let foreign = try w.image(w.tenantB)
        let missing = ImageRecord.newID()
        let results = w.service.deleteImages(w.ownerA, [ok.id, failed.id, busy.id, foreign.id, missing], source: "t")
        #expect(results.map(\.0) == [ok.id, failed.id, busy.id, foreign.id, missing])
        let codes = results.map { r -> GateError.Code? in
            if case .failure(let e) = r.1 { return e.code } else { return nil }
        }
        #expect(codes == [nil, nil, .conflict, .notFound, .notFound])
        #expect(try w.store.image(foreign.id)?.status == .available)
        let tooMany = w.service.deleteImages(w.ownerA, Array(repeating: busy.id, count: 501), source: "t")
        #expect(tooMany.allSatisfy { if case .failure(let e) = $0.1 { e.code == .invalidRequest } else { false } })
    }

    @Test func purgeAfterRetentionWithManualClock() throws {
        let w = try World()
        let old = try w.image(w.tenantA)
        let young = try w.image(w.tenantB)
        let kept = try w.image(w.tenantA)
        _ = try w.service.deleteImage(w.ownerA, old.id, source: "t")
        w.clock.advance(World.retention / 2)
        _ = try w.service.deleteImage(w.ownerB, young.id, source: "t")
        #expect(try w.service.purgeExpired().isEmpty)
        w.clock.advance(World.retention / 2)
        #expect(try w.service.purgeExpired() == [old.id])
        #expect(try w.store.image(old.id) == nil && !FileManager.default.fileExists(atPath: w.blobs.path(for: old.id)))
        #expect(try w.store.image(young.id)?.status == .deleted)
        #expect(try w.store.image(kept.id)?.status == .available)
        let e = try #require(try w.events("image.purge").first)
        #expect(e.actor == "system" && e.target == old.id.description && e.targetTenant == w.tenantA)
        w.clock.advance(World.retention)
        #expect(try w.service.purgeExpired() == [young.id])
    }

    /// Orphan blobs are OrphanBlobSweep's (quarantine, with a limit): purging never deletes a blob without a row,
    /// because a lost catalog makes every blob look like one.
    @Test func purgeFinishesInterruptedDeletesAndLeavesOrphanBlobs() throws {
        let w = try World()
        let stuck = try w.image(w.tenantA)
        _ = try w.store.update(stuck.id) { (r: inout ImageRecord) throws(GateError) in
            try ImageLifecycle.apply(.delete, to: &r, now: w.clock.now())
        }
        let orphan = ImageRecord.newID()
        precondition(
            FileManager.default.createFile(atPath: w.blobs.path(for: orphan), contents: Data([1])),
            "cannot create a test file")
        _ = try w.service.purgeExpired()
        #expect(try w.store.image(stuck.id)?.status == .deleted)
        #expect(FileManager.default.fileExists(atPath: w.blobs.path(for: orphan)))
        #expect(FileManager.default.fileExists(atPath: w.blobs.path(for: stuck.id)))
    }
}
