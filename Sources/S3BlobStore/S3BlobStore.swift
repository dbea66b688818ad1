//===----------------------------------------------------------------------===//
// ImageGate: BlobStorage on an S3-compatible bucket (`blobs.url = s3://…`): one object per image version,
// imports as multipart uploads, the catalog as the record of what is where.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import Glibc
import ImageCatalog
import S3Client
import SliceCache
import Synchronization

/// Image bytes in a bucket (Docs/object-storage.md):
///
///     PREFIX/images/<image-id>/<generation>              one object per finished import (never changed)
///     PREFIX/staging/<image-id>/<upload-id>.<rand>.tail  the unfinished last part of a paused import
///     PREFIX/quarantine/<image-id>/<generation>.<time>   objects found without a catalog row
///
/// An import is a multipart upload for its final key; what it has stored and the state of its checks live in
/// the catalog (`S3CatalogDocuments`), so a tus upload continues the same multipart upload after a restart or
/// on another node. A finished object's size and per-slice SHA-256 are recorded in the catalog (`blob/<id>`)
/// before the row says `available`; downloads read through `readerFactory` (the node's slice cache).
///
/// Every call blocks on the network: call it from dedicated threads (imports, recovery, the sweeps), never
/// from a Swift task.
public final class S3BlobStore: BlobStorage {
    public let client: S3Client
    let documents: S3CatalogDocuments
    /// Part size of imports: a multiple of `sliceBytes`.
    let partBytes: UInt64
    /// Slice size the per-slice digests are computed with (`cache.slice_bytes`).
    let sliceBytes: UInt64
    let readerFactory: @Sendable (SlicedObject) throws(GateError) -> any BlobReader
    let logger: Logger
    /// Stagings open in this process: their byte count is ahead of the catalog between two checkpoints.
    let live = Mutex<[ImageID: LiveStaging]>([:])

    struct LiveStaging {
        var uploadID: String
        /// The catalog document version this process last wrote (or read); stale once another node wrote.
        var documentVersion: Int64?
        var bytes: UInt64
    }

    public init(
        client: S3Client, catalog: any CatalogStore, partBytes: UInt64, sliceBytes: UInt64, logger: Logger,
        readerFactory: @escaping @Sendable (SlicedObject) throws(GateError) -> any BlobReader
    ) {
        precondition(sliceBytes > 0 && partBytes % sliceBytes == 0, "the part size is a multiple of the slice size")
        self.client = client
        self.documents = S3CatalogDocuments(catalog: catalog)
        self.partBytes = partBytes
        self.sliceBytes = sliceBytes
        self.readerFactory = readerFactory
        self.logger = logger
    }

    public var location: String { client.location.description }
    public var stagingWaitsOnNetwork: Bool { true }

    var imagesPrefix: String { client.location.key("images/") }
    func objectKey(_ version: BlobVersion) -> String {
        client.location.imageObjectKey(imageID: version.image.description, generation: Int64(version.generation))
    }

    /// The start-up check: the bucket exists and these credentials may use it. A failure is the one-line
    /// reason `serve` and the CLI refuse to start with.
    public func prepare() throws(GateError) {
        do {
            // A listing, not HeadBucket: a HEAD answer has no body, so its 403 cannot tell refused credentials
            // from a missing permission; the listing's error code does.
            _ = try client.listObjectsV2(prefix: imagesPrefix, maxKeys: 1)
        } catch {
            throw GateError.io("blobs.url \(location): \(error.gateError.message)")
        }
    }

    /// The readiness check (/readyz): the store answers for the bucket.
    public func readinessProblem() -> String? {
        do {
            try client.headBucket()
            return nil
        } catch {
            return error.gateError.message
        }
    }

    public func openReader(_ version: BlobVersion, expectedSize: UInt64) throws(GateError) -> any BlobReader {
        // The object is the one the import finalized; a later delete/restore bump of the generation keeps it.
        guard let object = try documents.blob(version.image) else {
            throw GateError.io("no object recorded for \(version.image) in the catalog")
        }
        guard object.size == expectedSize else {
            throw GateError.io("object of \(version.image) is \(object.size) bytes, the catalog says \(expectedSize)")
        }
        return try readerFactory(object)
    }

    // MARK: Staging

    public func createStaging(for version: BlobVersion) throws(GateError) -> any BlobStaging {
        let key = objectKey(version)
        let uploadID: String
        do {
            uploadID = try client.createMultipartUpload(key: key)
        } catch {
            throw GateError.io("cannot start storing the image: \(error.gateError.message)")
        }
        let record = S3StagingRecord(
            uploadID: uploadID, key: key, generation: version.generation, partBytes: partBytes, sliceBytes: sliceBytes)
        let written: (written: Bool, version: Int64)
        do {
            let current = try documents.staging(version.image)
            written = try documents.putStaging(version.image, record, expectedVersion: current.version)
        } catch {
            try? client.abortMultipartUpload(key: key, uploadID: uploadID)
            throw error
        }
        guard written.written else {
            try? client.abortMultipartUpload(key: key, uploadID: uploadID)
            throw GateError.conflict("another import of \(version.image) started at the same moment")
        }
        return S3Staging(store: self, image: version.image, record: record, documentVersion: written.version)
    }

    public func reopenStaging(_ staged: StagedBlob) throws(GateError) -> any BlobStaging {
        guard let id = staged.image, let (key, uploadID) = Self.parse(staged.name) else {
            throw GateError.invalid("\(staged.name) is not a staging object of this store")
        }
        let (found, version) = try documents.staging(id)
        guard let record = found, record.uploadID == uploadID, record.key == key else {
            throw GateError.notFound("the import of \(id) has no multipart upload \(uploadID) in the catalog")
        }
        return try S3Staging.reopen(store: self, image: id, record: record, documentVersion: version)
    }

    /// The imports in progress: the catalog's staging records whose multipart upload the store still holds,
    /// and any other multipart upload under `PREFIX/images/` (an orphan, for recovery to abort).
    public func stagedBlobs() -> [StagedBlob] {
        let uploads: [S3MultipartUpload]
        do {
            uploads = try client.listAllMultipartUploads(prefix: imagesPrefix)
        } catch {
            logger.warning("object store: cannot list multipart uploads: \(error.gateError.message)")
            return []
        }
        return uploads.map {
            StagedBlob(image: imageID(ofKey: $0.key), name: Self.name(key: $0.key, uploadID: $0.uploadID))
        }
    }

    /// One image's multipart uploads (every tus HEAD and PATCH asks): a listing of its own prefix only.
    public func stagedBlobs(of id: ImageID) -> [StagedBlob] {
        do {
            return try client.listAllMultipartUploads(prefix: client.location.key("images/\(id)/")).map {
                StagedBlob(image: id, name: Self.name(key: $0.key, uploadID: $0.uploadID))
            }
        } catch {
            logger.warning("object store: cannot list the multipart uploads of \(id): \(error.gateError.message)")
            return []
        }
    }

    public func stagedSize(_ staged: StagedBlob) -> UInt64? {
        guard let id = staged.image, let (_, uploadID) = Self.parse(staged.name),
            let (found, version) = try? documents.staging(id), let record = found, record.uploadID == uploadID
        else { return nil }
        // This process's open staging is ahead of the catalog (bytes since the last part), unless another node
        // continued the upload since (the document changed under it).
        if let mine = live.withLock({ $0[id] }), mine.uploadID == uploadID, mine.documentVersion == version {
            return mine.bytes
        }
        return record.storedBytes + record.tailBytes
    }

    /// Aborts the multipart upload (its parts are freed), deletes the saved tail and clears the catalog record.
    public func removeStaging(_ staged: StagedBlob) {
        guard let (key, uploadID) = Self.parse(staged.name) else { return }
        do {
            try client.abortMultipartUpload(key: key, uploadID: uploadID)
            logger.info("object store: aborted multipart upload \(uploadID) of \(key)")
        } catch  where error.kind == .notFound {
            // Completed or aborted already.
        } catch {
            logger.warning(
                "object store: cannot abort multipart upload \(uploadID) of \(key): \(error.gateError.message)")
        }
        guard let id = staged.image else { return }
        live.withLock { if $0[id]?.uploadID == uploadID { $0[id] = nil } }
        guard let (found, version) = try? documents.staging(id), let record = found, record.uploadID == uploadID else {
            return
        }
        if let tail = record.tailKey { try? client.deleteObject(key: tail) }
        _ = try? documents.putStaging(id, nil, expectedVersion: version)
    }

    public func returnToStaging(_ id: ImageID) throws(GateError) -> StagedBlob {
        // A completed multipart upload is an object; S3 cannot turn it back into an upload. The import is
        // failed instead and its client uploads again (Docs/object-storage.md, "Failure modes").
        throw GateError.conflict(
            "an object in the object store cannot be returned to staging; \(id) must be imported again")
    }

    // MARK: Finished objects

    /// Finished objects of one image (normally one; a crash between a complete and the catalog may leave two).
    func objects(of id: ImageID) throws(S3Error) -> [S3ObjectSummary] {
        try client.listAllObjects(prefix: client.location.key("images/\(id)/"))
    }

    public func blobIDs() -> [ImageID] {
        do {
            var ids = Set<ImageID>()
            for o in try client.listAllObjects(prefix: imagesPrefix) {
                if let id = imageID(ofKey: o.key) { ids.insert(id) }
            }
            return ids.sorted()
        } catch {
            logger.warning("object store: cannot list objects: \(error.gateError.message)")
            return []
        }
    }

    /// The size of the image's object. Only a definite answer says "missing": when the store does not answer,
    /// the size the catalog recorded at import is returned, so recovery never fails images because the store
    /// was briefly away.
    public func blobSize(_ id: ImageID) -> UInt64? {
        do {
            guard let recorded = try documents.blob(id) else { return try objects(of: id).last?.size }
            return try client.headObject(key: recorded.key).size
        } catch let error as S3Error where error.kind == .notFound {
            return nil
        } catch {
            logger.warning("object store: size of \(id) unknown (\(error)); using the catalog's record")
            return (try? documents.blob(id))??.size
        }
    }

    public func blobModifiedAt(_ id: ImageID) -> Int64? {
        guard let objects = try? objects(of: id) else { return nil }
        return objects.compactMap { $0.lastModified.flatMap(Self.unixTime) }.max()
    }

    /// Deletes the image's objects and its catalog record (idempotent).
    public func remove(_ id: ImageID) {
        do {
            for o in try objects(of: id) { try client.deleteObject(key: o.key) }
            try documents.putBlob(id, nil)
        } catch {
            logger.warning("object store: cannot remove \(id): \(error)")
        }
    }

    /// Copies each object of the image to `PREFIX/quarantine/<id>/<generation>.<now>` and deletes the
    /// original: S3 has no rename. Nothing is deleted before its copy succeeded.
    public func quarantine(_ id: ImageID, now: Int64) throws(GateError) -> String {
        var moved: [String] = []
        do {
            for o in try objects(of: id) {
                let target = client.location.key("quarantine/\(id)/\(o.key.split(separator: "/").last ?? "0").\(now)")
                try client.copyObject(from: o.key, to: target)
                try client.deleteObject(key: o.key)
                moved.append(target)
            }
        } catch {
            throw GateError.io("cannot quarantine \(id): \(error.gateError.message)")
        }
        guard !moved.isEmpty else { throw GateError.notFound("no object of \(id) to quarantine") }
        try? documents.putBlob(id, nil)
        return moved.joined(separator: ", ")
    }

    // MARK: Names

    /// `PREFIX/images/<id>/…` → the id.
    func imageID(ofKey key: String) -> ImageID? {
        guard key.hasPrefix(imagesPrefix) else { return nil }
        return key.dropFirst(imagesPrefix.count).split(separator: "/").first.flatMap { ImageID(String($0)) }
    }

    /// A staging object's name: the key and the upload id (both safe to log).
    static func name(key: String, uploadID: String) -> String { "\(key)?uploadId=\(uploadID)" }

    static func parse(_ name: String) -> (key: String, uploadID: String)? {
        guard let r = name.range(of: "?uploadId=", options: .backwards) else { return nil }
        let uploadID = String(name[r.upperBound...])
        return uploadID.isEmpty ? nil : (String(name[..<r.lowerBound]), uploadID)
    }

    /// `2026-12-07T13:00:00.000Z` (ListObjectsV2's LastModified) → Unix seconds.
    static func unixTime(_ text: String) -> Int64? {
        let digits = text.unicodeScalars.map { $0 }
        guard digits.count >= 19 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int32? {
            Int32(String(String.UnicodeScalarView(digits[from..<from + count])))
        }
        guard let y = number(0, 4), let mo = number(5, 2), let d = number(8, 2), let h = number(11, 2),
            let mi = number(14, 2), let s = number(17, 2)
        else { return nil }
        var t = tm()
        t.tm_year = y - 1900
        t.tm_mon = mo - 1
        t.tm_mday = d
        t.tm_hour = h
        t.tm_min = mi
        t.tm_sec = s
        return Int64(timegm(&t))
    }
}
