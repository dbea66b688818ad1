//===----------------------------------------------------------------------===//
// ImageGate: another S3 client (curl's own SigV4, `--aws-sigv4`) reads what S3Client wrote, and vice versa.
//===----------------------------------------------------------------------===//

import Foundation
import TestSupport
import Testing

@testable import S3Client

@Suite(.enabled(if: TestObjectStore.available && CurlTool.path != nil, "needs the S3 test store and curl >= 7.75"))
struct S3CurlInteropTests {
    @Test("an object S3Client put is read by curl; one curl put is read by S3Client")
    func bothWays() throws {
        let client = TestStore.client()
        let prefix = TestStore.uniquePrefix(client, "curl")
        let bytes = TestStore.randomBytes(70_000)
        try client.putObject(key: prefix + "from-gate", bytes: bytes)
        let url =
            "\(TestObjectStore.endpoint!)/\(client.location.bucket)/\(S3URIEncoding.encode(prefix, keepSlash: true))"
        #expect(try CurlTool.run(["-f", url + "from-gate"]) == bytes)

        let file = TempFile(bytes.reversed())
        defer { file.close() }
        _ = try CurlTool.run(["-f", "-X", "PUT", "--data-binary", "@\(file.path)", url + "from-curl"])
        #expect(try client.getObject(key: prefix + "from-curl").bytes == bytes.reversed())
    }
}

enum CurlTool {
    static let path: String? = ["/usr/bin/curl", "/usr/local/bin/curl"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Runs curl with SigV4 signing as the test key and returns what it wrote to stdout.
    static func run(_ arguments: [String]) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path!)
        p.arguments =
            [
                "-sS", "--aws-sigv4", "aws:amz:\(TestObjectStore.region):s3", "--user",
                "\(TestObjectStore.key!):\(TestObjectStore.secret!)",
                "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
            ] + arguments
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CurlFailed(status: p.terminationStatus) }
        return Array(data)
    }

    struct CurlFailed: Error { let status: Int32 }
}
