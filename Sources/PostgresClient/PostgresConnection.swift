//===----------------------------------------------------------------------===//
// ImageGate: one libpq connection: connect, parameterized statements, scripts, typed errors.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLibPQ
import SystemIO

/// One open PostgreSQL connection (a libpq `PGconn`).
///
/// Every call blocks its thread until the server answers: use a connection only from a dedicated thread
/// (an `OSThread`, a request's event-loop thread for a short lookup, a `DispatchQueue`), never from a Swift
/// task, which would block a thread of the cooperative pool. libpq connections are not thread-safe, so the
/// type is not `Sendable`: one thread owns it, or a `PostgresPool` lends it to one borrower at a time.
public final class PostgresConnection {
    private var conn: OpaquePointer?
    /// Kept to scrub it from every message libpq or the server returns; never printed.
    private let password: String?
    public let url: PostgresURL

    /// Connects and checks that the session is usable. Blocks for up to the URL's `connect_timeout`.
    public init(url: PostgresURL) throws(PostgresError) {
        self.url = url
        self.password = url.password
        conn = try Self.connect(url)
    }

    deinit { close() }

    private static func connect(_ url: PostgresURL) throws(PostgresError) -> OpaquePointer {
        let params = url.connectionParameters
        let keys = params.map { strdup($0.0) }
        let values = params.map { strdup($0.1) }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keyPointers: [UnsafePointer<CChar>?] = keys.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        // expand_dbname 0: "dbname" is a name, never parsed as a connection string of its own.
        let handle = keyPointers.withUnsafeMutableBufferPointer { k in
            valuePointers.withUnsafeMutableBufferPointer { v in PQconnectdbParams(k.baseAddress, v.baseAddress, 0) }
        }
        guard let handle else { throw PostgresError(.connectionFailed, "out of memory creating a connection") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let text = PostgresRedaction.scrub(Self.oneLine(PQerrorMessage(handle)), secret: url.password)
            let needsPassword = PQconnectionNeedsPassword(handle) == 1
            PQfinish(handle)
            // libpq reports connection failures as text only (no SQLSTATE): the server's authentication
            // failures all say "authentication failed" (auth.c), as long as lc_messages is English.
            let kind: PostgresError.Kind =
                needsPassword || text.contains("authentication failed") ? .authenticationFailed : .connectionFailed
            throw PostgresError(kind, "cannot connect to \(url.redacted): \(text)")
        }
        // Server NOTICEs ("relation already exists, skipping") would go to stderr by default: drop them.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return handle
    }

    /// Closes the connection; later calls throw `connectionLost`. The server releases this session's
    /// advisory locks and rolls back an open transaction.
    public func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    /// Drops the session and connects again with the same parameters (after `connectionLost`).
    public func reconnect() throws(PostgresError) {
        close()
        conn = try Self.connect(url)
    }

    func handle() throws(PostgresError) -> OpaquePointer {
        guard let conn else { throw PostgresError(.connectionLost, "the connection is closed") }
        return conn
    }

    /// False once the connection is closed or libpq has seen it break.
    public var isConnected: Bool { conn.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// True while a transaction block is open (also when it has failed and awaits ROLLBACK).
    public var isInTransaction: Bool {
        guard let conn else { return false }
        let s = PQtransactionStatus(conn)
        return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE
    }

    /// True when a statement failed inside the open transaction: only ROLLBACK is accepted now.
    var isInFailedTransaction: Bool { conn.map { PQtransactionStatus($0) == PQTRANS_INERROR } ?? false }

    /// The server process serving this session (`pg_backend_pid()`), 0 when closed.
    public var backendPID: Int32 { conn.map { PQbackendPID($0) } ?? 0 }

    // MARK: Statements

    /// Runs one statement with `$1…$n` parameters (PQexecParams, extended protocol: the SQL text and the
    /// values travel separately, so a value is never parsed as SQL). `sql` is constant text; values go in
    /// `parameters`.
    @discardableResult
    public func query(_ sql: StaticString, _ parameters: [PostgresValue] = []) throws(PostgresError) -> PostgresRows {
        try run(sql.description, parameters)
    }

    /// Like `query(_:_:)`, for SQL assembled only from constants and identifiers the program chose (a table
    /// name from a whitelist, a column list). Never pass text a user typed here: values go in `parameters`.
    @discardableResult
    public func query(composed sql: String, _ parameters: [PostgresValue] = []) throws(PostgresError) -> PostgresRows {
        try run(sql, parameters)
    }

    /// Runs several `;`-separated statements without parameters (PQexec, simple protocol): migrations and
    /// transaction control. The statements run as one implicit transaction unless the script has its own.
    public func execute(script: String) throws(PostgresError) {
        let conn = try handle()
        let res = PQexec(conn, script)
        defer { PQclear(res) }
        try check(res)
    }

    private func run(_ sql: String, _ parameters: [PostgresValue]) throws(PostgresError) -> PostgresRows {
        let conn = try handle()
        guard parameters.count <= 65535 else { throw .misuse("more than 65535 parameters") }
        var texts: [UnsafeMutablePointer<CChar>?] = []
        texts.reserveCapacity(parameters.count)
        defer { texts.forEach { free($0) } }
        for (i, p) in parameters.enumerated() {
            texts.append(try p.wireText(index: i + 1).map { strdup($0) })
        }
        let res = texts.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: UnsafePointer<CChar>?.self) { values in
                // paramTypes NULL: the server infers each type; lengths/formats NULL: all text, NUL-terminated.
                PQexecParams(conn, sql, Int32(parameters.count), nil, values.baseAddress, nil, nil, 0)
            }
        }
        defer { PQclear(res) }
        try check(res)
        return Self.rows(from: res!)
    }

    /// Throws unless `res` is a successful result. A lost session is closed at once: libpq may still say
    /// CONNECTION_OK after reading the server's "terminating connection" error, but nothing more will come,
    /// and `isConnected` must tell the pool (and a transaction's ROLLBACK) so.
    private func check(_ res: OpaquePointer?) throws(PostgresError) {
        let failure: PostgresError
        if let res {
            switch PQresultStatus(res) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
            default: failure = error(from: res)
            }
        } else {
            failure = connectionError(PQerrorMessage(conn))
        }
        if failure.kind == .connectionLost { close() }
        throw failure
    }

    /// A failed result: the server's SQLSTATE and fields if it sent any, else libpq's own text (a broken
    /// connection has no SQLSTATE).
    private func error(from res: OpaquePointer) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(res, Int32(code)).map { PostgresRedaction.scrub(String(cString: $0), secret: password) }
        }
        let broken = conn.map { PQstatus($0) != CONNECTION_OK } ?? true
        guard let state = field(UInt8(ascii: "C")) else {
            let text = PQresultErrorMessage(res)
            return broken ? connectionError(text) : PostgresError(.server, scrubbed(text))
        }
        let kind = broken ? .connectionLost : PostgresError.kind(forSQLState: state)
        return PostgresError(
            kind, field(UInt8(ascii: "M")) ?? scrubbed(PQresultErrorMessage(res)), sqlState: state,
            detail: field(UInt8(ascii: "D")), constraint: field(UInt8(ascii: "n")))
    }

    private func connectionError(_ text: UnsafePointer<CChar>?) -> PostgresError {
        PostgresError(.connectionLost, "connection to \(url.host):\(url.port) lost: \(scrubbed(text))")
    }

    private func scrubbed(_ text: UnsafePointer<CChar>?) -> String {
        PostgresRedaction.scrub(Self.oneLine(text), secret: password)
    }

    /// libpq messages end in a newline and may span lines ("\n\tIs the server running…"): one log line.
    static func oneLine(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown error" }
        let s = String(cString: text)
        let words = s.split(whereSeparator: { $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == " " })
        return words.isEmpty ? "unknown error" : words.joined(separator: " ")
    }

    private static func rows(from res: OpaquePointer) -> PostgresRows {
        let n = Int(PQntuples(res))
        let f = Int(PQnfields(res))
        let columns = (0..<f).map { c in
            PostgresColumn(name: String(cString: PQfname(res, Int32(c))), typeOID: UInt32(PQftype(res, Int32(c))))
        }
        var rows: [PostgresRow] = []
        rows.reserveCapacity(n)
        for r in 0..<n {
            var values: [[UInt8]?] = []
            values.reserveCapacity(f)
            for c in 0..<f {
                if PQgetisnull(res, Int32(r), Int32(c)) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(res, Int32(r), Int32(c)))
                    let p = UnsafeRawPointer(PQgetvalue(res, Int32(r), Int32(c))!)
                    values.append(Array(UnsafeRawBufferPointer(start: p, count: length)))
                }
            }
            rows.append(PostgresRow(columns: columns, values: values))
        }
        let affected = PQcmdTuples(res).flatMap { Int(String(cString: $0)) } ?? 0
        return PostgresRows(columns: columns, rows: rows, affectedRows: affected)
    }

    // MARK: Health (for the pool)

    /// Whether an idle connection still looks alive, without a round trip: it must be connected, outside any
    /// transaction, and have nothing to read. An idle session receives nothing unless the server is closing
    /// it (the FATAL message of `pg_terminate_backend` and EOF) or a NOTIFY/NOTICE arrived; when something
    /// did, libpq reads it and the caller should `ping()` before trusting the connection.
    func idleCheck() -> IdleCheck {
        guard let conn, PQstatus(conn) == CONNECTION_OK, PQtransactionStatus(conn) == PQTRANS_IDLE else {
            return .broken
        }
        var p = [pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)]
        guard let ready = try? Poll.wait(&p, timeoutMs: 0) else { return .broken }
        guard ready != 0 else { return .quiet }
        if PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK { return .broken }
        while let n = PQnotifies(conn) { PQfreemem(n) }  // no LISTEN here: nothing to deliver
        return .readSomething
    }

    enum IdleCheck { case quiet, readSomething, broken }

    /// A round trip (`SELECT 1`): proves the server still answers on this session.
    public func ping() throws(PostgresError) {
        try query("SELECT 1")
    }
}

@available(*, unavailable, message: "a libpq connection is used by one thread at a time; share a PostgresPool")
extension PostgresConnection: Sendable {}
