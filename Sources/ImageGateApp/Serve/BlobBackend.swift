//===----------------------------------------------------------------------===//
// ImageGate: the blob storage `blobs.url` names, opened the same way by the server and every CLI command.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import ImageManagement
import S3BlobStore
import S3Client

enum BlobBackend {
    /// The local directory store, or for `s3://…` the object store, checked before anything else uses it: a
    /// missing bucket or refused credentials stop `serve` and the CLI with a one-line reason.
    static func open(_ settings: Settings, store: any CatalogStore, logger: Logger) throws(GateError) -> any BlobStorage {
        guard settings.isObjectStore else { return BlobStore(root: settings.blobRoot) }
        let s3 = try objectStore(settings, store: store, logger: logger)
        try s3.prepare()
        return s3
    }

    static func objectStore(_ settings: Settings, store: any CatalogStore, logger: Logger) throws(GateError)
        -> S3BlobStore
    {
        let o = settings.objectStore
        // S3 allows 10,000 parts: the largest image an import may bring must fit.
        let largest = settings.imports.quota.maxImportBytes
        if largest > 0, largest > o.partBytes * 10_000 {
            throw GateError.usage(
                "blobs.part_size \(o.partBytes) bytes is too small for imports.max_bytes \(largest): 10000 parts "
                    + "must hold the largest image")
        }
        do {
            let location = try S3Location(settings.blobsURL)
            // The CLI reads the same credentials as the server: the file when configured, else the environment.
            let credentials = try S3Credentials.resolve(
                file: o.credentialsFile.isEmpty ? nil : o.credentialsFile, environment: S3Credentials.processEnvironment)
            var configuration = S3Client.Configuration()
            configuration.idleTimeoutSeconds = Int(o.timeoutSeconds)
            configuration.connectTimeoutMilliseconds = Int(min(o.timeoutSeconds, 5) * 1000)
            configuration.caFile = o.caFile.isEmpty ? nil : o.caFile
            configuration.logger = logger
            let client = S3Client(location: location, credentials: credentials, configuration: configuration)
            return S3BlobStore(
                client: client, catalog: store, partBytes: o.partBytes, sliceBytes: o.sliceBytes, logger: logger,
                readerFactory: unwiredReader)
        } catch {
            throw GateError.usage("blobs: \(error.message)")
        }
    }

    /// Downloads from the object store go through the node's slice cache (Docs/object-storage.md, "Read
    /// cache"), a separate target; until it is wired here a download answers with this error.
    @Sendable static func unwiredReader(_ object: SlicedObject) throws(GateError) -> any BlobReader {
        throw GateError.io("object store reads need the read cache, which this build does not include")
    }
}
