//===----------------------------------------------------------------------===//
// ImageGate: an https endpoint is verified: against the configured CA file, else the system's CAs.
//===----------------------------------------------------------------------===//

import TestSupport
import Testing

@testable import S3Client

@Suite(
    .enabled(
        if: TestObjectStore.available && TestObjectStore.httpsEndpoint != nil && TestObjectStore.caFile != nil,
        "IMAGEGATE_TEST_S3_HTTPS_ENDPOINT/_CA_FILE unset: run scripts/test.sh or scripts/seaweedfs.sh"))
struct S3TLSIntegrationTests {
    static func client(caFile: String?) throws -> S3Client {
        var c = S3Client.Configuration()
        c.caFile = caFile
        let location = try S3Location(
            "s3://\(TestObjectStore.bucket!)/t?endpoint=\(TestObjectStore.httpsEndpoint!)&region=\(TestObjectStore.region)"
        )
        return S3Client(location: location, credentials: TestStore.credentials(), configuration: c)
    }

    @Test("with the store's CA file: objects go up and come down over TLS")
    func withCA() throws {
        let client = try Self.client(caFile: TestObjectStore.caFile)
        try client.headBucket()
        let key = TestStore.uniquePrefix(client, "tls") + "x"
        let bytes = TestStore.randomBytes(50_000)
        try client.putObject(key: key, bytes: bytes)
        #expect(
            try client.getObject(key: key, range: S3ByteRange(offset: 10, length: 100)).bytes == Array(bytes[10..<110]))
        try client.deleteObject(key: key)
    }

    @Test("without it the system's CAs do not know the test CA: a network error, nothing sent")
    func withoutCA() throws {
        let client = try Self.client(caFile: nil)
        #expect {
            try client.headBucket()
        } throws: { e in
            guard let e = e as? S3Error else { return false }
            return e.kind == .network && e.httpStatus == nil && e.message.lowercased().contains("certificate")
        }
    }
}
