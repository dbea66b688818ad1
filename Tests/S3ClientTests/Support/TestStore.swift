//===----------------------------------------------------------------------===//
// ImageGate: the real S3 store the integration tests run against (IMAGEGATE_TEST_S3_*), and helpers.
//===----------------------------------------------------------------------===//

import CryptoPrimitives
import Glibc
import S3Client
import Synchronization
import TestSupport
import Testing

/// The test store. `scripts/test.sh` starts SeaweedFS with `scripts/seaweedfs.sh` and exports its variables; by
/// hand:
///     d=$(mktemp -d); eval "$(scripts/seaweedfs.sh start $d)"
///     swift test --skip-build --filter S3ClientTests; scripts/seaweedfs.sh stop $d; rm -rf $d
enum TestStore {

    static let skipMessage: Comment = """
        IMAGEGATE_TEST_S3_ENDPOINT/_BUCKET/_KEY/_SECRET unset: run scripts/test.sh, or start a store with \
        eval "$(scripts/seaweedfs.sh start DIR)"
        """

    static func location(bucket name: String? = nil) -> S3Location {
        let text =
            "s3://\(name ?? TestObjectStore.bucket ?? "")/t?endpoint=\(TestObjectStore.endpoint ?? "")&region=\(TestObjectStore.region)&path_style=true"
        // Only reached when `available`: a malformed setting is a broken test setup, worth a crash with the reason.
        do { return try S3Location(text) } catch { fatalError("IMAGEGATE_TEST_S3_*: \(error)") }
    }

    static func credentials(secret override: String? = nil, key keyOverride: String? = nil) -> S3Credentials {
        do {
            return try S3Credentials(
                accessKeyID: keyOverride ?? TestObjectStore.key ?? "",
                secretAccessKey: override ?? TestObjectStore.secret ?? "")
        } catch { fatalError("IMAGEGATE_TEST_S3_KEY/_SECRET: \(error)") }
    }

    static func client(
        bucket name: String? = nil, credentials: S3Credentials? = nil,
        configure: (inout S3Client.Configuration) -> Void = { _ in }
    ) -> S3Client {
        var c = S3Client.Configuration()
        configure(&c)
        return S3Client(
            location: location(bucket: name), credentials: credentials ?? self.credentials(), configuration: c)
    }

    /// A fresh key prefix inside the location's prefix (tests run in parallel against one bucket).
    static func uniquePrefix(_ client: S3Client, _ name: String) -> String {
        client.location.key("\(name)-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))/")
    }

    /// Random bytes from OpenSSL (a per-byte Swift generator takes seconds for megabytes in a debug build).
    static func randomBytes(_ count: Int) -> [UInt8] { Crypto.randomBytes(count) }
}

/// Counts finished requests by operation, for the request hook.
final class RequestTally: Sendable {
    private let counts = Mutex<[S3Operation: Int]>([:])
    private let failures = Mutex<[S3Error.Kind: Int]>([:])

    func record(_ r: S3RequestRecord) {
        counts.withLock { $0[r.operation, default: 0] += 1 }
        if let kind = r.errorKind { failures.withLock { $0[kind, default: 0] += 1 } }
    }

    var byOperation: [S3Operation: Int] { counts.withLock { $0 } }
    var byFailure: [S3Error.Kind: Int] { failures.withLock { $0 } }
}

/// A temporary file with `bytes`, removed by `close()`.
struct TempFile {
    let path: String
    let descriptor: Int32

    init(_ bytes: [UInt8]) {
        var template = Array("/tmp/imagegate-s3test.XXXXXX".utf8CString)
        descriptor = mkstemp(&template)
        precondition(descriptor >= 0, "mkstemp failed")
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + done, $0.count - done) }
            precondition(n > 0, "write failed")
            done += n
        }
    }

    func contents() -> [UInt8] {
        var st = stat()
        fstat(descriptor, &st)
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = out.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress!, $0.count, 0) }
        return Array(out.prefix(max(0, n)))
    }

    func close() {
        Glibc.close(descriptor)
        unlink(path)
    }
}
