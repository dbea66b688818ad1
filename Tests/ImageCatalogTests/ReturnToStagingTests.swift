//===----------------------------------------------------------------------===//
// ImageGate: BlobStore.returnToStaging, the undo of a finalize whose catalog commit never happened.
//===----------------------------------------------------------------------===//
import GateCore
import Glibc
import ImageCatalog
import Testing

@Suite struct ReturnToStagingTests {
    @Test func movesTheBlobBackToAFreshStagingFileWithItsBytes() throws {
        let dir = TempDir()
        let id = ImageRecord.newID()
        let bytes = randomBytes(5000)
        let staging = try dir.blobs.createStaging(for: BlobVersion(image: id, generation: 1))
        try bytes.withUnsafeBytes { try staging.append($0) }
        try staging.finalize(as: BlobVersion(image: id, generation: 1))

        let path = try dir.blobs.returnToStaging(id).name

        #expect(dir.blobs.blobSize(id) == nil)
        #expect(dir.blobs.stagingFiles() == [path])
        #expect(BlobStore.imageID(ofStagingPath: path) == id)
        #expect(path != staging.staged.name)  // a new random suffix, never the old name
        #expect(readAll(path) == bytes)
    }

    @Test func aMissingBlobIsAnErrorAndTouchesNothing() throws {
        let dir = TempDir()
        #expect(throws: GateError.self) { _ = try dir.blobs.returnToStaging(ImageRecord.newID()) }
        #expect(dir.blobs.stagingFiles().isEmpty)
    }
}
