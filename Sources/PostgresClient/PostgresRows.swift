//===----------------------------------------------------------------------===//
// ImageGate: a query's rows, copied out of libpq's result, with typed column access.
//===----------------------------------------------------------------------===//

/// A result column: its name and the server's type OID (`pg_type.oid`).
public struct PostgresColumn: Sendable, Equatable {
    public let name: String
    public let typeOID: UInt32
}

/// Type OIDs ImageGate reads (fixed in PostgreSQL's `pg_type.dat`, stable across versions).
enum PostgresType {
    static let bool: UInt32 = 16
    static let bytea: UInt32 = 17
    static let int8: UInt32 = 20
    static let int2: UInt32 = 21
    static let int4: UInt32 = 23
    static let oid: UInt32 = 26
}

/// Everything a statement returned. The values are copied out of the `PGresult` (which is cleared at once),
/// so a result is a plain value that may outlive its connection and cross threads.
public struct PostgresRows: Sendable {
    public let columns: [PostgresColumn]
    public let rows: [PostgresRow]
    /// Rows inserted, updated, deleted (or returned by SELECT), from the command tag; 0 when it has none.
    public let affectedRows: Int

    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }
    public var first: PostgresRow? { rows.first }

    /// The single row of a statement that must return exactly one (`SELECT count(*)`, `INSERT … RETURNING`).
    public func single() throws(PostgresError) -> PostgresRow {
        guard rows.count == 1 else { throw .typeMismatch("expected exactly one row, got \(rows.count)") }
        return rows[0]
    }
}

/// One row. Columns are addressed by 0-based position or by name; reading a column as the wrong type, or a
/// NULL as non-optional, throws `typeMismatch` naming the column (never a value, which may be private).
public struct PostgresRow: Sendable {
    let columns: [PostgresColumn]
    /// Text-format bytes per column, nil for SQL NULL.
    let values: [[UInt8]?]

    public func isNull(_ column: Int) throws(PostgresError) -> Bool { try raw(column) == nil }

    public func string(_ column: Int) throws(PostgresError) -> String {
        guard let v = try optionalString(column) else { throw nullError(column) }
        return v
    }

    /// Any column's text form (text, varchar, a number, a timestamp as the server prints it).
    public func optionalString(_ column: Int) throws(PostgresError) -> String? {
        try raw(column).map { String(decoding: $0, as: UTF8.self) }
    }

    public func int64(_ column: Int) throws(PostgresError) -> Int64 {
        guard let v = try optionalInt64(column) else { throw nullError(column) }
        return v
    }

    public func optionalInt64(_ column: Int) throws(PostgresError) -> Int64? {
        try expect(column, [PostgresType.int2, PostgresType.int4, PostgresType.int8, PostgresType.oid], "an integer")
        guard let bytes = try raw(column) else { return nil }
        guard let v = Int64(String(decoding: bytes, as: UTF8.self)) else {
            throw .typeMismatch("column \(columns[column].name) is not an Int64")
        }
        return v
    }

    public func bool(_ column: Int) throws(PostgresError) -> Bool {
        guard let v = try optionalBool(column) else { throw nullError(column) }
        return v
    }

    public func optionalBool(_ column: Int) throws(PostgresError) -> Bool? {
        try expect(column, [PostgresType.bool], "a boolean")
        guard let bytes = try raw(column) else { return nil }
        switch bytes {
        case [UInt8(ascii: "t")]: return true
        case [UInt8(ascii: "f")]: return false
        default: throw .typeMismatch("column \(columns[column].name) has an unexpected boolean text")
        }
    }

    /// A bytea column's bytes.
    public func bytes(_ column: Int) throws(PostgresError) -> [UInt8] {
        guard let v = try optionalBytes(column) else { throw nullError(column) }
        return v
    }

    public func optionalBytes(_ column: Int) throws(PostgresError) -> [UInt8]? {
        try expect(column, [PostgresType.bytea], "bytea")
        guard let text = try raw(column) else { return nil }
        guard let decoded = text.withUnsafeBufferPointer({ ByteaHex.decode($0) }) else {
            throw .typeMismatch("column \(columns[column].name) is not bytea in hex format (bytea_output = hex)")
        }
        return decoded
    }

    // MARK: By name

    /// The position of the first column called `name`.
    public func index(of name: String) throws(PostgresError) -> Int {
        guard let i = columns.firstIndex(where: { $0.name == name }) else {
            throw .typeMismatch("no column named \(PostgresURL.printable(name))")
        }
        return i
    }

    public func string(_ name: String) throws(PostgresError) -> String { try string(index(of: name)) }
    public func optionalString(_ name: String) throws(PostgresError) -> String? { try optionalString(index(of: name)) }
    public func int64(_ name: String) throws(PostgresError) -> Int64 { try int64(index(of: name)) }
    public func optionalInt64(_ name: String) throws(PostgresError) -> Int64? { try optionalInt64(index(of: name)) }
    public func bool(_ name: String) throws(PostgresError) -> Bool { try bool(index(of: name)) }
    public func optionalBool(_ name: String) throws(PostgresError) -> Bool? { try optionalBool(index(of: name)) }
    public func bytes(_ name: String) throws(PostgresError) -> [UInt8] { try bytes(index(of: name)) }
    public func optionalBytes(_ name: String) throws(PostgresError) -> [UInt8]? { try optionalBytes(index(of: name)) }

    // MARK: Checks

    private func raw(_ column: Int) throws(PostgresError) -> [UInt8]? {
        guard values.indices.contains(column) else {
            throw .typeMismatch("column \(column) out of range (the row has \(values.count))")
        }
        return values[column]
    }

    private func expect(_ column: Int, _ types: [UInt32], _ what: String) throws(PostgresError) {
        _ = try raw(column)
        guard types.contains(columns[column].typeOID) else {
            throw .typeMismatch("column \(columns[column].name) is not \(what) (type oid \(columns[column].typeOID))")
        }
    }

    private func nullError(_ column: Int) -> PostgresError {
        .typeMismatch("column \(columns[column].name) is NULL")
    }
}
