//===----------------------------------------------------------------------===//
// ImageGate: the small XML subset S3 answers in, read into a tree (no dependency, no entity expansion).
//===----------------------------------------------------------------------===//

/// One element: its local name (a `prefix:` is dropped), its text (character data and CDATA of the element
/// itself, entity references decoded) and its child elements in order. Attributes are skipped: no S3 answer
/// ImageGate reads carries data in attributes.
struct XMLNode: Sendable, Equatable {
    var name: String
    var text: String
    var children: [XMLNode]

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    /// The text of the first child called `name`.
    func value(_ name: String) -> String? { child(name)?.text }
}

/// A strict reader for S3's XML answers (`<Error>`, `ListBucketResult`, `InitiateMultipartUploadResult`, …).
/// The XML declaration, comments, processing instructions and a DOCTYPE are skipped; only the five predefined
/// entities and numeric character references are decoded, so no document can make the reader fetch or expand
/// anything. Anything malformed (unbalanced tags, a stray `<`, an unknown entity, nesting deeper than 32)
/// is nil.
enum S3XML {
    static let maxDepth = 32

    static func parse(_ bytes: [UInt8]) -> XMLNode? {
        var reader = Reader(bytes: bytes)
        return reader.document()
    }

    static func parse(_ text: String) -> XMLNode? { parse(Array(text.utf8)) }

    private struct Reader {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func document() -> XMLNode? {
            skipMisc()
            guard let root = element(depth: 0) else { return nil }
            skipMisc()
            return i == bytes.count ? root : nil
        }

        /// White space, `<?…?>`, `<!--…-->` and `<!DOCTYPE …>` between elements.
        mutating func skipMisc() {
            while true {
                while i < bytes.count, isSpace(bytes[i]) { i += 1 }
                if starts("<?") {
                    guard skip(past: "?>") else { return }
                } else if starts("<!--") {
                    guard skip(past: "-->") else { return }
                } else if starts("<!DOCTYPE") {
                    guard skip(past: ">") else { return }
                } else {
                    return
                }
            }
        }

        mutating func element(depth: Int) -> XMLNode? {
            guard depth < S3XML.maxDepth, i < bytes.count, bytes[i] == UInt8(ascii: "<") else { return nil }
            i += 1
            guard let name = readName() else { return nil }
            // Attributes: skipped up to the end of the start tag, honouring quotes (a '>' may sit inside one).
            var quote: UInt8?
            while i < bytes.count {
                let c = bytes[i]
                if let q = quote {
                    if c == q { quote = nil }
                } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    quote = c
                } else if c == UInt8(ascii: ">") || c == UInt8(ascii: "/") {
                    break
                }
                i += 1
            }
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "/") {
                guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ">") else { return nil }
                i += 2
                return XMLNode(name: localName(name), text: "", children: [])
            }
            i += 1  // '>'
            var text: [UInt8] = []
            var children: [XMLNode] = []
            while i < bytes.count {
                if starts("</") {
                    i += 2
                    guard readName() == name else { return nil }
                    while i < bytes.count, isSpace(bytes[i]) { i += 1 }
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ">") else { return nil }
                    i += 1
                    guard let decoded = String(validating: text, as: UTF8.self) else { return nil }
                    return XMLNode(name: localName(name), text: decoded, children: children)
                } else if starts("<![CDATA[") {
                    i += 9
                    let start = i
                    guard skip(past: "]]>") else { return nil }
                    text += bytes[start..<(i - 3)]
                } else if starts("<!--") || starts("<?") {
                    guard skip(past: starts("<!--") ? "-->" : "?>") else { return nil }
                } else if bytes[i] == UInt8(ascii: "<") {
                    guard let child = element(depth: depth + 1) else { return nil }
                    children.append(child)
                } else if bytes[i] == UInt8(ascii: "&") {
                    guard let decoded = entity() else { return nil }
                    text += decoded
                } else {
                    text.append(bytes[i])
                    i += 1
                }
            }
            return nil
        }

        mutating func readName() -> String? {
            let start = i
            while i < bytes.count, !isSpace(bytes[i]), bytes[i] != UInt8(ascii: ">"), bytes[i] != UInt8(ascii: "/") {
                i += 1
            }
            guard i > start else { return nil }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }

        /// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` `&#N;` `&#xH;` → UTF-8 bytes; anything else is an error.
        mutating func entity() -> [UInt8]? {
            guard let semi = bytes[i...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else { return nil }
            let body = String(decoding: bytes[(i + 1)..<semi], as: UTF8.self)
            i = semi + 1
            switch body {
            case "amp": return [UInt8(ascii: "&")]
            case "lt": return [UInt8(ascii: "<")]
            case "gt": return [UInt8(ascii: ">")]
            case "quot": return [UInt8(ascii: "\"")]
            case "apos": return [UInt8(ascii: "'")]
            default:
                let scalarValue: UInt32?
                if body.hasPrefix("#x") || body.hasPrefix("#X") {
                    scalarValue = UInt32(body.dropFirst(2), radix: 16)
                } else if body.hasPrefix("#") {
                    scalarValue = UInt32(body.dropFirst(), radix: 10)
                } else {
                    scalarValue = nil
                }
                guard let v = scalarValue, v != 0, let scalar = Unicode.Scalar(v) else { return nil }
                return Array(String(Character(scalar)).utf8)
            }
        }

        func starts(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard i + n <= bytes.count else { return false }
            return s.withUTF8Buffer { p in (0..<n).allSatisfy { bytes[i + $0] == p[$0] } }
        }

        /// Moves past the next occurrence of `end`; false (at the end) when there is none.
        mutating func skip(past end: StaticString) -> Bool {
            while i < bytes.count {
                if starts(end) {
                    i += end.utf8CodeUnitCount
                    return true
                }
                i += 1
            }
            return false
        }

        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }

        func localName(_ name: String) -> String {
            name.firstIndex(of: ":").map { String(name[name.index(after: $0)...]) } ?? name
        }
    }
}

/// An S3 `<Error>` document's fields (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
struct S3ErrorDocument: Equatable {
    var code: String
    var message: String?
    var requestID: String?

    /// nil when `bytes` is not an `<Error>` document with a `<Code>`.
    init?(_ bytes: [UInt8]) {
        guard let root = S3XML.parse(bytes), root.name == "Error", let code = root.value("Code"), !code.isEmpty
        else { return nil }
        self.code = code
        message = root.value("Message")
        requestID = root.value("RequestId")
    }
}
