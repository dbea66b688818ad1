//===----------------------------------------------------------------------===//
// ImageGate: catalog URL parsing, percent-decoding and redaction (no server needed).
//===----------------------------------------------------------------------===//

import Testing

@testable import PostgresClient

@Suite struct PostgresURLTests {
    @Test("a full URL: user, decoded password, host, port, database, parameters")
    func fullURL() throws {
        let url = try PostgresURL(
            "postgres://gate:p%40ss%3Aw%2Fd@db.example:6432/catalog"
                + "?sslmode=verify-full&connect_timeout=5&application_name=node%201")
        #expect(url.user == "gate")
        #expect(url.password == "p@ss:w/d")
        #expect(url.host == "db.example" && url.port == 6432 && url.database == "catalog")
        #expect(url.sslMode == .verifyFull && url.connectTimeout == 5 && url.applicationName == "node 1")
        let params = Dictionary(uniqueKeysWithValues: url.connectionParameters)
        #expect(params["password"] == "p@ss:w/d" && params["dbname"] == "catalog" && params["port"] == "6432")
    }

    @Test("defaults: port 5432, database = user, sslmode prefer, no password")
    func defaults() throws {
        let url = try PostgresURL("postgresql://gate@10.0.0.5")
        #expect(url.port == 5432 && url.database == "gate" && url.sslMode == .prefer && !url.hasPassword)
        #expect(Dictionary(uniqueKeysWithValues: url.connectionParameters)["password"] == nil)
    }

    @Test("IPv6 literal in brackets, and a percent-encoded Unix-socket directory as host")
    func hosts() throws {
        let v6 = try PostgresURL("postgres://u:p@[::1]:5433/db")
        #expect(v6.host == "::1" && v6.port == 5433)
        #expect(v6.redacted == "postgres://u:***@[::1]:5433/db?sslmode=prefer")
        let sock = try PostgresURL("postgres://u@%2Fvar%2Frun%2Fpostgresql/db")
        #expect(sock.host == "/var/run/postgresql")
    }

    @Test(
        "malformed URLs are refused with a reason that never repeats the password",
        arguments: [
            ("mysql://u:SECRETPW@h/db", "scheme"),
            ("postgres://u:SECRETPW@h:99999/db", "port"),
            ("postgres://u:SECRETPW@h:abc/db", "port"),
            ("postgres://u:SECRETPW@h/db?sslmode=sometimes", "sslmode"),
            ("postgres://u:SECRETPW@h/db?password=x", "unknown parameter"),
            ("postgres://u:SECRET%zzPW@h/db", "%-escape"),
            ("postgres://:SECRETPW@h/db", "user name"),
            ("postgres://u:SECRETPW@/db", "host"),
            ("postgres://u:SECRETPW@h/a/b", "one database"),
            ("postgres://u:SECRETPW@h/db#frag", "fragment"),
            ("u:SECRETPW@h/db", "postgres://"),
        ])
    func refused(text: String, reason: String) {
        #expect {
            try PostgresURL(text)
        } throws: { error in
            guard let e = error as? PostgresError else { return false }
            return e.kind == .invalidURL && e.message.contains(reason) && !"\(e)".contains("SECRET")
        }
    }

    @Test("description and redacted print *** for the password, and never the password itself")
    func redaction() throws {
        let url = try PostgresURL("postgres://gate:Sup3r%2Fsecret@db:5432/cat?sslmode=require")
        #expect(url.redacted == "postgres://gate:***@db:5432/cat?sslmode=require")
        #expect("\(url)" == url.redacted)
        #expect(!String(reflecting: url.description).contains("Sup3r"))
    }

    @Test("free text: every postgres URL loses its password, other text is untouched")
    func redactingFreeText() {
        let line =
            "catalog.url = postgres://gate:hunter2@db:5432/cat and postgresql://x:y%40z@h/d, plain postgres://u@h/d"
        #expect(
            PostgresRedaction.redactingURLs(in: line)
                == "catalog.url = postgres://gate:***@db:5432/cat and postgresql://x:***@h/d, plain postgres://u@h/d")
        #expect(PostgresRedaction.redactingURLs(in: "no url here") == "no url here")
        let scrubbed = PostgresRedaction.scrub("auth for hunter2 failed; hunter2", secret: "hunter2")
        #expect(scrubbed == "auth for *** failed; ***")
    }
}

@Suite struct PostgresValueTests {
    @Test("bytea hex: encode, decode, round trip of every byte value; bad hex refused")
    func byteaHex() {
        let all = (0...255).map { UInt8($0) }
        let hex = ByteaHex.encode(all)
        #expect(hex.hasPrefix("\\x00010203") && hex.utf8.count == 2 + 512)
        #expect(Array(hex.utf8).withUnsafeBufferPointer { ByteaHex.decode($0) } == all)
        #expect(Array("\\x".utf8).withUnsafeBufferPointer { ByteaHex.decode($0) } == [])
        for bad in ["\\x0", "\\xzz", "00", "\\000"] {
            #expect(Array(bad.utf8).withUnsafeBufferPointer { ByteaHex.decode($0) } == nil, "\(bad)")
        }
    }

    @Test("parameters as text: integers, booleans, NULL; a NUL character is refused, not cut short")
    func wireText() throws {
        #expect(try PostgresValue.int(-42).wireText(index: 1) == "-42")
        #expect(try PostgresValue.bool(true).wireText(index: 1) == "t")
        #expect(try PostgresValue.text(nil as String?).wireText(index: 1) == nil)
        #expect(try PostgresValue.bytes([0xde, 0xad]).wireText(index: 1) == "\\xdead")
        #expect(throws: PostgresError.self) { try PostgresValue.text("a\u{0}b").wireText(index: 3) }
    }

    @Test(
        "SQLSTATE classification",
        arguments: [
            ("23505", PostgresError.Kind.uniqueViolation), ("23503", .foreignKeyViolation),
            ("23502", .constraintViolation), ("40001", .serializationFailure), ("40P01", .deadlockDetected),
            ("55P03", .lockOrStatementTimeout), ("57P01", .connectionLost), ("08006", .connectionLost),
            ("28P01", .authenticationFailed), ("42P01", .server),
        ])
    func sqlState(state: String, kind: PostgresError.Kind) {
        #expect(PostgresError.kind(forSQLState: state) == kind)
        let conflict = kind == .serializationFailure || kind == .deadlockDetected
        #expect(PostgresError(kind, "x").isTransactionConflict == conflict)
    }
}
