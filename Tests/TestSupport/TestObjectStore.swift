//===----------------------------------------------------------------------===//
// ImageGate test support: the object store the tests run against, as IMAGEGATE_TEST_S3_* describe it.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// The SeaweedFS store `scripts/test.sh` starts (`scripts/seaweedfs.sh`) and describes in the environment; by
/// hand: `d=$(mktemp -d); scripts/seaweedfs.sh start "$d"; source "$d/env"`. Suites that need it are skipped
/// when `available` is false. An empty variable counts as unset.
public enum TestObjectStore {
    public static func env(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    public static let endpoint = env("IMAGEGATE_TEST_S3_ENDPOINT")
    public static let bucket = env("IMAGEGATE_TEST_S3_BUCKET")
    public static let key = env("IMAGEGATE_TEST_S3_KEY")
    public static let secret = env("IMAGEGATE_TEST_S3_SECRET")
    public static let region = env("IMAGEGATE_TEST_S3_REGION") ?? "us-east-1"
    /// A bucket name the store does not have (for the "bucket missing" refusal).
    public static let missingBucket = env("IMAGEGATE_TEST_S3_MISSING_BUCKET")
    /// The same store behind TLS, and the CA file that verifies it.
    public static let httpsEndpoint = env("IMAGEGATE_TEST_S3_HTTPS_ENDPOINT")
    public static let caFile = env("IMAGEGATE_TEST_S3_CA_FILE")

    public static var available: Bool { endpoint != nil && bucket != nil && key != nil && secret != nil }
}
