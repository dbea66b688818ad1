//===----------------------------------------------------------------------===//
// ImageGate: real failures are told apart: wrong credentials, a missing bucket, a store that is not there.
//===----------------------------------------------------------------------===//

import GateCore
import Glibc
import TestSupport
import Testing

@testable import S3Client

@Suite(.enabled(if: TestObjectStore.available, TestStore.skipMessage))
struct S3FailureIntegrationTests {
    @Test("a wrong secret or an unknown key id is invalidCredentials, with the store's code and no secret in the text")
    func wrongCredentials() throws {
        let wrongSecret = TestStore.client(credentials: TestStore.credentials(secret: "WRONGSECRETVALUE"))
        #expect {
            try wrongSecret.putObject(key: wrongSecret.location.key("x"), bytes: [1])
        } throws: { e in
            guard let e = e as? S3Error else { return false }
            return e.kind == .invalidCredentials && e.s3Code == "SignatureDoesNotMatch" && e.httpStatus == 403
                && !"\(e)".contains("WRONGSECRETVALUE") && e.gateError.code == .io
        }
        let unknownKey = TestStore.client(credentials: TestStore.credentials(key: "NOSUCHKEYID"))
        #expect {
            try unknownKey.listObjectsV2(prefix: "t/")
        } throws: {
            ($0 as? S3Error).map { $0.kind == .invalidCredentials && $0.s3Code == "InvalidAccessKeyId" } ?? false
        }
        // A HEAD answer has no body: a refusal cannot be told apart from a missing permission.
        #expect {
            try wrongSecret.headBucket()
        } throws: { ($0 as? S3Error).map { $0.kind == .accessDenied || $0.kind == .invalidCredentials } ?? false }
    }

    @Test("a bucket the key may use but that does not exist is noSuchBucket for every call; the real one is fine")
    func missingBucket() throws {
        let missing = try #require(TestObjectStore.missingBucket, "IMAGEGATE_TEST_S3_MISSING_BUCKET unset")
        let client = TestStore.client(bucket: missing)
        let isNoSuchBucket: (any Error) -> Bool = { ($0 as? S3Error)?.kind == .noSuchBucket }
        #expect(performing: { try client.headBucket() }, throws: isNoSuchBucket)
        #expect(performing: { try client.putObject(key: "t/x", bytes: [1]) }, throws: isNoSuchBucket)
        #expect(performing: { try client.getObject(key: "t/x") }, throws: isNoSuchBucket)
        #expect(performing: { try client.listObjectsV2(prefix: "t/") }, throws: isNoSuchBucket)
        try TestStore.client().headBucket()
    }

    @Test("a bucket the key may not use is accessDenied")
    func foreignBucket() throws {
        let client = TestStore.client(bucket: "imagegate-not-granted")
        #expect {
            try client.putObject(key: "t/x", bytes: [1])
        } throws: { ($0 as? S3Error).map { $0.kind == .accessDenied && $0.s3Code == "AccessDenied" } ?? false }
    }
}

@Suite struct S3NetworkFailureTests {
    @Test("nobody listening: a network error naming the endpoint, counted by the hook without a status")
    func refused() throws {
        // A port just bound and closed again: nothing listens there.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        close(fd)

        let tally = RequestTally()
        let logPath = "/tmp/imagegate-s3log-\(UInt64.random(in: 0...UInt64.max))"
        defer { unlink(logPath) }
        var c = S3Client.Configuration()
        c.onRequest = tally.record
        c.logger = Logger(sink: try LineSink.appending(path: logPath), minimum: .debug)
        let client = S3Client(
            location: try S3Location("s3://some-bucket/p?endpoint=http://127.0.0.1:\(port)"),
            credentials: try S3Credentials(accessKeyID: "AKID", secretAccessKey: "SECRETVALUE"), configuration: c)
        #expect {
            try client.headObject(key: "p/x")
        } throws: { e in
            guard let e = e as? S3Error else { return false }
            return e.kind == .network && e.isTransient && e.message.contains("127.0.0.1:\(port)")
                && !e.message.contains("SECRETVALUE") && e.httpStatus == nil
        }
        #expect(tally.byOperation == [.headObject: 1] && tally.byFailure == [.network: 1])
        // One debug line per request: operation, key, no status, the error kind; never the secret.
        let log = try #require(String(validating: TempFileReader.contents(logPath), as: UTF8.self))
        #expect(log.contains("s3: HeadObject key=p/x status=- sent=0 received=0 ms=") && log.contains("error=network"))
        #expect(!log.contains("SECRETVALUE"))

        // An empty key would address the bucket itself: refused before any request is made.
        #expect {
            try client.putObject(key: "", bytes: [1])
        } throws: { ($0 as? S3Error).map { $0.kind == .rejected && $0.message.contains("1 to 1024 bytes") } ?? false }
        #expect(performing: { try client.headObject(key: String(repeating: "k", count: 1025)) }, throws: { _ in true })
        #expect(tally.byOperation == [.headObject: 1])
    }

    @Test("a store that takes the connection but never answers: a transient network error after the idle timeout")
    func silentStore() throws {
        // Listening but never accepting: the kernel completes the handshake, the request is sent, nothing comes.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        #expect(listen(fd, 8) == 0)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        var c = S3Client.Configuration()
        c.idleTimeoutSeconds = 1
        let client = S3Client(
            location: try S3Location(
                "s3://some-bucket/p?endpoint=http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))"),
            credentials: try S3Credentials(accessKeyID: "AKID", secretAccessKey: "SECRETVALUE"), configuration: c)
        #expect {
            try client.getObject(key: "p/x", range: S3ByteRange(offset: 0, length: 10))
        } throws: { e in
            guard let e = e as? S3Error else { return false }
            return e.kind == .network && e.isTransient && e.httpStatus == nil
        }
    }
}

enum TempFileReader {
    static func contents(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { return out }
            out += buffer[0..<n]
        }
    }
}
