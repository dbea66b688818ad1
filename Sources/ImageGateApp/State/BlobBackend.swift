//===----------------------------------------------------------------------===//
// ImageGate: the blob storage `blobs.url` names, opened the same way by the server and every CLI command.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import ImageManagement
import ImportPipeline
import S3BlobStore
import S3Client
import SliceCache
import Synchronization

enum BlobBackend {
    /// The local directory store, or for `s3://…` the object store, checked before anything else uses it: a
    /// missing bucket or refused credentials stop `serve` and the CLI with a one-line reason.
    static func open(_ settings: Settings, store: any CatalogStore, logger: Logger) throws(GateError) -> any BlobStorage
    {
        guard settings.isObjectStore else { return BlobStore(root: settings.blobRoot) }
        let s3 = try objectStore(settings, store: store, logger: logger)
        try s3.prepare()
        return s3
    }

    static func objectStore(_ settings: Settings, store: any CatalogStore, logger: Logger) throws(GateError)
        -> S3BlobStore
    {
        let o = settings.objectStore
        let slice = settings.cache.sliceBytes
        guard o.partBytes % slice == 0 else {
            throw GateError.usage("blobs.part_size (\(o.partBytes)) must be a multiple of cache.slice_bytes (\(slice))")
        }
        // S3 allows 10,000 parts: the largest image an import may bring must fit.
        let largest = settings.imports.quota.maxImportBytes
        if largest > 0, largest > o.partBytes * 10_000 {
            throw GateError.usage(
                "blobs.part_size \(o.partBytes) bytes is too small for imports.max_bytes \(largest): 10000 parts "
                    + "must hold the largest image")
        }
        let client: S3Client
        do {
            let location = try S3Location(settings.blobsURL)
            // The CLI reads the same credentials as the server: the file when configured, else the environment.
            let credentials = try S3Credentials.resolve(
                file: o.credentialsFile.isEmpty ? nil : o.credentialsFile, environment: S3Credentials.processEnvironment
            )
            var configuration = S3Client.Configuration()
            configuration.idleTimeoutSeconds = Int(o.timeoutSeconds)
            configuration.connectTimeoutMilliseconds = Int(min(o.timeoutSeconds, 5) * 1000)
            configuration.caFile = o.caFile.isEmpty ? nil : o.caFile
            configuration.logger = logger
            client = S3Client(location: location, credentials: credentials, configuration: configuration)
        } catch {
            throw GateError.usage("blobs: \(error.message)")
        }
        let cache = LazyCache(settings: settings, source: S3SliceSource(client: client), logger: logger)
        return S3BlobStore(
            client: client, catalog: store, partBytes: o.partBytes, sliceBytes: slice, logger: logger,
            readerFactory: { object throws(GateError) in try cache.get().reader(for: object) })
    }
}

/// The node's read cache, opened at the first download rather than with the store: opening it rebuilds its
/// index and deletes partial slice files, which a CLI command that never reads image bytes (and may run next
/// to the server on the same cache directory) must not do.
private final class LazyCache: Sendable {
    private let settings: Settings
    private let source: S3SliceSource
    private let logger: Logger
    private let cache = Mutex<SliceCache?>(nil)

    init(settings: Settings, source: S3SliceSource, logger: Logger) {
        self.settings = settings
        self.source = source
        self.logger = logger
    }

    func get() throws(GateError) -> SliceCache {
        try cache.withLock { (c: inout SliceCache?) throws(GateError) -> SliceCache in
            if let c { return c }
            let opened = try SliceCache(
                directory: settings.cacheDirectory, maxBytes: settings.cache.maxBytes, source: source,
                sliceBytes: settings.cache.sliceBytes, waitTimeoutMs: settings.objectStore.timeoutSeconds * 1000,
                readAheadSlices: settings.cache.readAheadSlices, logger: logger)
            c = opened
            return opened
        }
    }
}
