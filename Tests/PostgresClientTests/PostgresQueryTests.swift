//===----------------------------------------------------------------------===//
// ImageGate: statements against a real PostgreSQL: parameters, NULL, bytea, typed access, SQLSTATE errors.
//===----------------------------------------------------------------------===//

import GateCore
import Testing

@testable import PostgresClient

@Suite(.enabled(if: TestDatabase.available, TestDatabase.skipMessage))
struct PostgresQueryTests {
    @Test("text, integer, boolean, bytea and NULL parameters round-trip through a table")
    func roundTrip() throws {
        let c = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("rt")
        try c.query(composed: "CREATE TABLE \(table) (id int8 PRIMARY KEY, name text, ok bool, blob bytea)")
        defer { _ = try? c.query(composed: "DROP TABLE \(table)") }
        let bytes = (0...255).map { UInt8($0) } + [0, 0, 92, 120]  // NULs, "\\x" inside the data
        let name = "Ünïcode 'quoted'; DROP TABLE x; -- $1 \\ \"€\""
        let inserted = try c.query(
            composed: "INSERT INTO \(table) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)",
            [.int(Int64.max), .text(name), .bool(true), .bytes(bytes), .int(Int64.min), .null, .bool(nil), .bytes(nil)])
        #expect(inserted.affectedRows == 2)

        let rows = try c.query(composed: "SELECT id, name, ok, blob FROM \(table) ORDER BY id DESC")
        #expect(rows.count == 2 && rows.columns.map(\.name) == ["id", "name", "ok", "blob"])
        let full = rows.rows[0]
        #expect(try full.int64("id") == Int64.max)
        #expect(try full.string("name") == name)
        #expect(try full.bool("ok") == true)
        #expect(try full.bytes("blob") == bytes)
        let empty = rows.rows[1]
        #expect(try empty.int64(0) == Int64.min)
        #expect(try empty.optionalString(1) == nil && empty.optionalBool(2) == nil && empty.optionalBytes(3) == nil)
        #expect(try empty.isNull(1))

        // A parameter the server types from context, and an untyped one with a cast.
        let echo = try c.query(
            "SELECT $1::bytea AS b, $2::int8 + 1 AS n, $3 AS t", [.bytes([1, 2]), .int(41), .text("")]
        ).single()
        #expect(try echo.bytes("b") == [1, 2] && echo.int64("n") == 42 && echo.string("t") == "")
    }

    @Test("typed access refuses the wrong type, NULL as non-optional, a missing column")
    func typedAccessErrors() throws {
        let c = try TestDatabase.connect()
        let row = try c.query("SELECT 'x'::text AS t, NULL::int8 AS n, 7::int4 AS i").single()
        #expect(try row.int64("i") == 7)
        for attempt in [
            { _ = try row.int64("t") }, { _ = try row.int64("n") }, { _ = try row.bool("i") },
            { _ = try row.bytes("t") }, { _ = try row.string("missing") }, { _ = try row.string(9) },
        ] {
            #expect { try attempt() } throws: { ($0 as? PostgresError)?.kind == .typeMismatch }
        }
        #expect { try c.query("SELECT 1 UNION SELECT 2").single() } throws: {
            ($0 as? PostgresError)?.kind == .typeMismatch
        }
    }

    @Test("server errors carry their SQLSTATE, kind, constraint; the connection stays usable")
    func errorsWithSQLState() throws {
        let c = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("err")
        try c.query(composed: "CREATE TABLE \(table) (id text CONSTRAINT \(table)_pk PRIMARY KEY, n int NOT NULL)")
        defer { _ = try? c.query(composed: "DROP TABLE \(table)") }
        try c.query(composed: "INSERT INTO \(table) VALUES ($1, 1)", [.text("a")])

        func failure(_ sql: String, _ params: [PostgresValue] = []) -> PostgresError? {
            do {
                try c.query(composed: sql, params)
                return nil
            } catch {
                return error
            }
        }
        let dup = failure("INSERT INTO \(table) VALUES ($1, 2)", [.text("a")])
        #expect(dup?.kind == .uniqueViolation && dup?.sqlState == "23505" && dup?.constraint == "\(table)_pk")
        #expect(dup?.gateError.code == .alreadyExists)
        let notNull = failure("INSERT INTO \(table) VALUES ($1, NULL)", [.text("b")])
        #expect(notNull?.kind == .constraintViolation && notNull?.sqlState == "23502")
        let syntax = failure("SELEC 1")
        #expect(syntax?.kind == .server && syntax?.sqlState == "42601")
        let missing = failure("SELECT * FROM \(table)_nope")
        #expect(missing?.sqlState == "42P01" && missing?.message.contains("does not exist") == true)
        let nul = failure("SELECT $1", [.text("a\u{0}")])
        #expect(nul?.kind == .invalidParameter && nul?.sqlState == nil)
        #expect(try c.query("SELECT 1").single().int64(0) == 1, "errors leave the session usable")
    }

    @Test("a wrong password or an unreachable server: a typed error that never contains the password")
    func passwordNeverInErrors() throws {
        let good = TestDatabase.url
        let secret = "Wr0ng-" + TestDatabase.uniqueName("secret")
        let wrong = try PostgresURL(
            "postgres://\(good.user):\(secret)@\(good.host):\(good.port)/\(good.database)?sslmode=disable")
        do {
            _ = try PostgresConnection(url: wrong)
            Issue.record("a wrong password connected")
        } catch {
            #expect(error.kind == .authenticationFailed, "\(error)")
            #expect(!"\(error)".contains(secret) && !String(reflecting: error).contains(secret))
            #expect(!"\(error.gateError)".contains(secret))
        }
        // A port nothing listens on (the cluster's port + 1 is free in practice; either way it is not PostgreSQL
        // with this password).
        let closed = try PostgresURL(
            "postgres://\(good.user):\(secret)@127.0.0.1:1/\(good.database)?sslmode=disable&connect_timeout=5")
        do {
            _ = try PostgresConnection(url: closed)
            Issue.record("connected to port 1")
        } catch {
            #expect(error.kind == .connectionFailed, "\(error)")
            #expect(!"\(error)".contains(secret) && "\(error)".contains("***"), "\(error)")
        }
    }

    @Test("a closed connection throws connectionLost; reconnect opens a new session")
    func closeAndReconnect() throws {
        let c = try TestDatabase.connect()
        let pid = c.backendPID
        c.close()
        #expect(!c.isConnected)
        #expect { try c.query("SELECT 1") } throws: { ($0 as? PostgresError)?.kind == .connectionLost }
        try c.reconnect()
        #expect(c.isConnected && c.backendPID != pid)
    }
}
