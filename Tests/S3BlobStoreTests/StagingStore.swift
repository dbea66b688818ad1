//===----------------------------------------------------------------------===//
// ImageGate: an S3BlobStore on the test store (IMAGEGATE_TEST_S3_*, scripts/seaweedfs.sh) with a SQLite
// catalog in a scratch directory, and a tally of the bytes each store operation sent.
//===----------------------------------------------------------------------===//
import GateCore
import Glibc
import S3BlobStore
import S3Client
import SQLiteCatalog
import Synchronization
import TestSupport
import Testing

/// The SeaweedFS store `scripts/test.sh` starts (by hand: `d=$(mktemp -d); scripts/seaweedfs.sh start "$d";
/// source "$d/env"`); the suites are skipped without it.
enum StoreEnvironment {
    static let skipMessage: Comment = "IMAGEGATE_TEST_S3_* unset: run scripts/test.sh or scripts/seaweedfs.sh start"
}

/// Bytes sent and requests made per operation, from the client's request hook.
final class SentBytes: Sendable {
    private let state = Mutex<[S3Operation: (requests: Int, bytes: UInt64)]>([:])
    /// Called after each request, on the thread that made it (before the caller sees the answer).
    let afterRequest = Mutex<(@Sendable (S3Operation) -> Void)?>(nil)

    func record(_ r: S3RequestRecord) {
        state.withLock {
            let old = $0[r.operation] ?? (0, 0)
            $0[r.operation] = (old.requests + 1, old.bytes + r.bytesSent)
        }
        afterRequest.withLock { $0 }?(r.operation)
    }

    func requests(_ op: S3Operation) -> Int { state.withLock { $0[op]?.requests ?? 0 } }
    func bytes(_ op: S3Operation) -> UInt64 { state.withLock { $0[op]?.bytes ?? 0 } }
}

/// A blob store under a prefix of its own (tests run in parallel against one bucket), 1 MiB slices and
/// `partBytes` parts.
struct StagingStore {
    let dir: TemporaryDirectory
    let catalog: SQLiteCatalogStore
    let store: S3BlobStore
    let sent = SentBytes()
    let partBytes: UInt64

    init(partBytes: UInt64 = 5 << 20) throws {
        self.partBytes = partBytes
        dir = try TemporaryDirectory()
        catalog = try SQLiteCatalogStore.open(path: dir.file("catalog.sqlite3"), clock: SystemClock())
        let prefix = "s3bs-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        let location = try S3Location(
            "s3://\(TestObjectStore.bucket ?? "")/\(prefix)?endpoint=\(TestObjectStore.endpoint ?? "")"
                + "&region=\(TestObjectStore.region)&path_style=true")
        let credentials = try S3Credentials(
            accessKeyID: TestObjectStore.key ?? "", secretAccessKey: TestObjectStore.secret ?? "")
        var configuration = S3Client.Configuration()
        let sent = self.sent
        configuration.onRequest = { sent.record($0) }
        let client = S3Client(location: location, credentials: credentials, configuration: configuration)
        store = Self.blobStore(client, catalog, partBytes)
    }

    static func blobStore(_ client: S3Client, _ catalog: SQLiteCatalogStore, _ partBytes: UInt64) -> S3BlobStore {
        S3BlobStore(
            client: client, catalog: catalog, partBytes: partBytes, sliceBytes: 1 << 20,
            logger: Logger(minimum: .error)
        ) { _ throws(GateError) in throw GateError.notFound("no reads in these tests") }
    }

    /// The same bucket and catalog seen by a new process (this one was killed): nothing of it in memory.
    func restarted() -> S3BlobStore { Self.blobStore(store.client, catalog, partBytes) }
}
