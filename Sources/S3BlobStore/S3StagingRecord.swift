//===----------------------------------------------------------------------===//
// ImageGate: an import's multipart upload as the catalog keeps it, so another node or a restart continues it.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog
import SliceCache

/// The durable state of one import into the object store, kept as the shared catalog document
/// `s3-staging/<image-id>` (Docs/object-storage.md, "Resume"): the multipart upload, the parts stored so far
/// with their ETags and slice digests, the import's checkpoint at the end of the last part, and the tail
/// (the bytes after it, fewer than one part) saved as an object when the staging was closed.
struct S3StagingRecord: Codable, Equatable {
    struct Part: Codable, Equatable {
        var number: Int
        var etag: String
        var size: UInt64
        var sliceSHA256: [String]
    }

    var uploadID: String
    var key: String
    var generation: UInt32
    var partBytes: UInt64
    var sliceBytes: UInt64
    var parts: [Part] = []
    /// The import's checks after the last part (base64), nil before the first checkpoint.
    var checkpoint: String?
    /// `PREFIX/staging/<image-id>/<upload-id>.<random>.tail`, when the staging was closed with a tail.
    var tailKey: String?
    var tailBytes: UInt64 = 0

    /// Bytes stored in parts.
    var storedBytes: UInt64 { parts.reduce(0) { $0 + $1.size } }
}

/// Reads and writes the catalog documents of the object store: `s3-staging/<id>` (imports in progress) and
/// `blob/<id>` (finished objects, a `SlicedObject`). The document API has no delete: an empty body means none.
struct S3CatalogDocuments: Sendable {
    let catalog: any CatalogStore

    static func stagingName(_ id: ImageID) -> String { "s3-staging/\(id)" }
    static func blobName(_ id: ImageID) -> String { "blob/\(id)" }

    /// The staging record and the document version it was read at (nil record: none).
    func staging(_ id: ImageID) throws(GateError) -> (record: S3StagingRecord?, version: Int64?) {
        guard let doc = try catalog.document(Self.stagingName(id)) else { return (nil, nil) }
        return (try Self.decode(S3StagingRecord.self, doc.body, name: doc.name), doc.version)
    }

    /// Compare-and-swap write: false when another writer changed the document since `expectedVersion`.
    func putStaging(_ id: ImageID, _ record: S3StagingRecord?, expectedVersion: Int64?) throws(GateError)
        -> (written: Bool, version: Int64)
    {
        let body = try record.map { r throws(GateError) in try Self.encode(r) } ?? ""
        let w = try catalog.putDocument(Self.stagingName(id), body: body, expectedVersion: expectedVersion)
        return (w.written, w.document.version)
    }

    func blob(_ id: ImageID) throws(GateError) -> SlicedObject? {
        guard let doc = try catalog.document(Self.blobName(id)) else { return nil }
        return try Self.decode(SlicedObject.self, doc.body, name: doc.name)
    }

    /// Replaces `blob/<id>` whatever it held (the import holding the row's lease is its only writer).
    func putBlob(_ id: ImageID, _ object: SlicedObject?) throws(GateError) {
        let body = try object.map { o throws(GateError) in try Self.encode(o) } ?? ""
        for _ in 0..<8 {
            let current = try catalog.document(Self.blobName(id))
            if current == nil && body.isEmpty { return }
            if try catalog.putDocument(Self.blobName(id), body: body, expectedVersion: current?.version).written {
                return
            }
        }
        throw GateError.conflict("the catalog document \(Self.blobName(id)) keeps changing")
    }

    static func encode<T: Encodable>(_ value: T) throws(GateError) -> String {
        do {
            let data = try JSONEncoder().encode(value)
            return String(decoding: data, as: UTF8.self)
        } catch {
            throw GateError.internal("cannot encode \(T.self): \(error)")
        }
    }

    /// An empty body is "none"; anything else must decode.
    static func decode<T: Decodable>(_ type: T.Type, _ body: String, name: String) throws(GateError) -> T? {
        if body.isEmpty { return nil }
        do {
            return try JSONDecoder().decode(type, from: Data(body.utf8))
        } catch {
            throw GateError.io("the catalog document \(name) is damaged: \(error)")
        }
    }
}
