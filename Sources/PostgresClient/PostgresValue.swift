//===----------------------------------------------------------------------===//
// ImageGate: query parameters, all sent in PostgreSQL's text format (bytea as \x hex).
//===----------------------------------------------------------------------===//

/// One `$n` parameter. Every value travels in text format with its type left to the server (`paramTypes`
/// NULL), which infers it from the statement: `WHERE id = $1` takes the column's type; where nothing says
/// (`SELECT $1`), write a cast (`$1::bytea`, `$1::int8`). Text format keeps one code path for every type and
/// needs no binary layouts; bytes go as bytea hex (`\x0a1b…`,
/// https://www.postgresql.org/docs/15/datatype-binary.html#id-1.5.7.12.9).
public enum PostgresValue: Sendable, Equatable {
    case null
    case text(String)
    case int(Int64)
    case bool(Bool)
    case bytes([UInt8])

    /// `nil` becomes SQL NULL.
    public static func text(_ value: String?) -> PostgresValue { value.map { .text($0) } ?? .null }
    public static func int(_ value: Int64?) -> PostgresValue { value.map { .int($0) } ?? .null }
    public static func int(_ value: Int) -> PostgresValue { .int(Int64(value)) }
    public static func bool(_ value: Bool?) -> PostgresValue { value.map { .bool($0) } ?? .null }
    public static func bytes(_ value: [UInt8]?) -> PostgresValue { value.map { .bytes($0) } ?? .null }

    /// The text libpq sends, or nil for NULL. PostgreSQL text cannot hold U+0000 and libpq takes C strings,
    /// so a NUL would silently cut the value short: it is refused instead.
    func wireText(index: Int) throws(PostgresError) -> String? {
        switch self {
        case .null: return nil
        case .int(let v): return String(v)
        case .bool(let v): return v ? "t" : "f"
        case .bytes(let v): return ByteaHex.encode(v)
        case .text(let v):
            guard !v.utf8.contains(0) else {
                throw PostgresError(.invalidParameter, "parameter $\(index) contains a NUL character")
            }
            return v
        }
    }
}

/// Names ImageGate puts into SQL text itself (a migrations table, a NOTIFY channel): lower-case letters, digits
/// and underscores, not starting with a digit, at most 63 bytes (NAMEDATALEN - 1). Such a name needs no quoting
/// and means the same unquoted as it does as a string.
enum PostgresIdentifier {
    static func isPlain(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63, !isDigit(first) else { return false }
        return name.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || isDigit($0) || $0 == 95 }
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}

/// bytea's hex format: `\x` then two lower-case hex digits per byte.
enum ByteaHex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        out.reserveCapacity(2 + bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes the hex output format (the server default since 9.0, `bytea_output = hex`). The old escape
    /// format is refused rather than misread.
    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else {
            return nil
        }
        var out = [UInt8]()
        out.reserveCapacity((text.count - 2) / 2)
        var i = 2
        while i < text.count {
            guard let h = nibble(text[i]), let l = nibble(text[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
