//===----------------------------------------------------------------------===//
// ImageGate: reading a RequestHead: its bytes without allocating, or Strings when asked
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

extension RequestHead {
    // MARK: bytes (no allocation)

    /// Offsets of field `k`'s name and (OWS-trimmed) value in the head bytes.
    @inline(__always)
    func field(_ k: Int, in raw: UnsafeRawBufferPointer) -> (name: Range<Int>, value: Range<Int>) {
        let at = table + 16 * k
        let a = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        let b = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)))
        let c = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 8, as: UInt32.self)))
        let d = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self)))
        return (a..<b, c..<d)
    }

    /// Index of the first field named `lowercasedName` (ASCII case-insensitive) from `start`, or nil.
    @inline(__always)
    func findField(_ name: UnsafeRawBufferPointer, in raw: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
        var k = start
        while k < fieldCount {
            let f = field(k, in: raw)
            if f.name.count == name.count {
                var equal = true
                for j in 0..<name.count where ASCII.lower(raw[f.name.lowerBound + j]) != name[j] {
                    equal = false
                    break
                }
                if equal { return k }
            }
            k += 1
        }
        return nil
    }

    /// Calls `body` with the value bytes of the first field named `lowercasedName`, or nil when absent.
    /// The generic `with…` accessors are inlinable so that a caller in another module gets them specialized: an
    /// unspecialized closure-taking generic looked up type metadata on every call (about 1k instructions per
    /// download, issue 17).
    @inlinable
    public func withHeader<R>(_ lowercasedName: StaticString, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let range = valueRange(lowercasedName) else { return body(nil) }
        return storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// Offsets of the value of the first field named `lowercasedName`, or nil.
    @usableFromInline
    func valueRange(_ lowercasedName: StaticString) -> Range<Int>? {
        let name = UnsafeRawBufferPointer(start: lowercasedName.utf8Start, count: lowercasedName.utf8CodeUnitCount)
        return storage.withUnsafeBytes { raw in findField(name, in: raw).map { field($0, in: raw).value } }
    }

    /// The value of the first field named `lowercasedName` as a String, or nil (nothing made when absent).
    func headerString(_ lowercasedName: StaticString) -> String? {
        valueRange(lowercasedName).map(string)
    }

    /// Whether any field name starts with `lowercasedPrefix` (ASCII case-insensitive): one pass over the table.
    func hasField(prefix lowercasedPrefix: StaticString) -> Bool {
        let prefix = UnsafeRawBufferPointer(
            start: lowercasedPrefix.utf8Start, count: lowercasedPrefix.utf8CodeUnitCount)
        return storage.withUnsafeBytes { raw in
            for k in 0..<fieldCount {
                let name = field(k, in: raw).name
                guard name.count >= prefix.count else { continue }
                var equal = true
                for j in 0..<prefix.count where ASCII.lower(raw[name.lowerBound + j]) != prefix[j] {
                    equal = false
                    break
                }
                if equal { return true }
            }
            return false
        }
    }

    /// Whether a field named `lowercasedName` is present.
    public func hasHeader(_ lowercasedName: StaticString) -> Bool {
        valueRange(lowercasedName) != nil
    }

    /// Calls `body` with the still percent-encoded path bytes (without the query; "/" for an absolute-form
    /// target without a path).
    @inlinable
    public func withPath<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard let pathRange else {
            let root: StaticString = "/"
            return body(UnsafeRawBufferPointer(start: root.utf8Start, count: 1))
        }
        return storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[pathRange])) }
    }

    /// The query bytes (after '?'), or nil when the target has no '?'.
    @inlinable
    public func withQuery<R>(_ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let queryRange else { return body(nil) }
        return storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[queryRange])) }
    }

    /// Whether the path is exactly `text` (byte-wise, one `memcmp`).
    public func pathEquals(_ text: String) -> Bool {
        comparePath(text, prefix: false)
    }

    /// Whether the path starts with `text` (byte-wise, one `memcmp`).
    public func pathHasPrefix(_ text: String) -> Bool {
        comparePath(text, prefix: true)
    }

    private func comparePath(_ text: String, prefix: Bool) -> Bool {
        var text = text
        return text.withUTF8 { t in
            withPath { p in
                guard prefix ? p.count >= t.count : p.count == t.count else { return false }
                return t.isEmpty || memcmp(p.baseAddress!, t.baseAddress!, t.count) == 0
            }
        }
    }

    // MARK: Strings (made when asked)

    /// The raw request-target as received (origin-form or absolute-form).
    public var target: String { string(targetRange) }

    /// Origin-form path, still percent-encoded, without the query. For absolute-form targets the scheme and
    /// authority are dropped (RFC 9112 §3.2.2: the authority wins, Host is ignored); an empty path becomes "/".
    public var path: String { pathRange.map(string) ?? "/" }

    /// The raw query without the leading '?', or nil when the target has no '?'.
    public var query: String? { queryRange.map(string) }

    /// Field lines in order: names lowercased, values with leading/trailing OWS removed (RFC 9112 §5.1).
    /// Values holding obs-text that is not valid UTF-8 are decoded with U+FFFD replacement.
    public var headers: [(name: String, value: String)] {
        storage.withUnsafeBytes { raw in
            (0..<fieldCount).map { k in
                let f = field(k, in: raw)
                return (
                    name: RequestParser.lowercasedString(UnsafeRawBufferPointer(rebasing: raw[f.name])),
                    value: String(decoding: UnsafeRawBufferPointer(rebasing: raw[f.value]), as: UTF8.self)
                )
            }
        }
    }

    /// The first value of the field `lowercasedName`, or nil.
    public func header(_ lowercasedName: String) -> String? {
        var name = lowercasedName
        return name.withUTF8 { name in
            storage.withUnsafeBytes { raw in
                guard let k = findField(UnsafeRawBufferPointer(name), in: raw) else { return nil }
                return String(decoding: UnsafeRawBufferPointer(rebasing: raw[field(k, in: raw).value]), as: UTF8.self)
            }
        }
    }

    /// All values of the field `lowercasedName`, in order.
    public func headers(_ lowercasedName: String) -> [String] {
        var name = lowercasedName
        return name.withUTF8 { name in
            storage.withUnsafeBytes { raw in
                var result: [String] = []
                var k = 0
                while let hit = findField(UnsafeRawBufferPointer(name), in: raw, from: k) {
                    result.append(
                        String(
                            decoding: UnsafeRawBufferPointer(rebasing: raw[field(hit, in: raw).value]), as: UTF8.self))
                    k = hit + 1
                }
                return result
            }
        }
    }

    private func string(_ range: Range<Int>) -> String {
        storage.withUnsafeBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }
}
