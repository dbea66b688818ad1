//===----------------------------------------------------------------------===//
// ImageGate: helpers shared by the request-parser tests
//===----------------------------------------------------------------------===//

import HTTPServer
import Testing

/// Parses `bytes` with `limits`.
func parse(_ bytes: [UInt8], limits: ParseLimits = ParseLimits()) -> ParseResult {
    bytes.withUnsafeBytes { RequestParser(limits: limits).parse($0) }
}

/// Parses the UTF-8 bytes of `text`.
func parse(_ text: String, limits: ParseLimits = ParseLimits()) -> ParseResult {
    parse(Array(text.utf8), limits: limits)
}

extension ParseResult {
    var status: Int? {
        if case .failure(let error) = self { return error.status }
        return nil
    }

    var head: RequestHead? {
        if case .head(let head, _) = self { return head }
        return nil
    }

    var consumed: Int? {
        if case .head(_, let consumed) = self { return consumed }
        return nil
    }

    var isNeedMore: Bool {
        if case .needMore = self { return true }
        return false
    }
}

/// One raw input and the status it must produce.
struct RejectCase: Sendable, CustomTestStringConvertible {
    var label: String
    var raw: [UInt8]
    var status: Int

    init(_ label: String, _ raw: String, _ status: Int = 400) {
        self.label = label
        self.raw = Array(raw.utf8)
        self.status = status
    }

    init(_ label: String, bytes: [UInt8], _ status: Int = 400) {
        self.label = label
        self.raw = bytes
        self.status = status
    }

    var testDescription: String { label }
}

/// A request that must parse, plus the expected method, path and query.
struct AcceptCase: Sendable, CustomTestStringConvertible {
    var label: String
    var raw: [UInt8]
    var method: String
    var path: String
    var query: String?

    init(_ label: String, _ raw: String, method: String = "GET", path: String, query: String? = nil) {
        self.init(label, bytes: Array(raw.utf8), method: method, path: path, query: query)
    }

    init(_ label: String, bytes: [UInt8], method: String = "GET", path: String, query: String? = nil) {
        self.label = label
        self.raw = bytes
        self.method = method
        self.path = path
        self.query = query
    }

    var testDescription: String { label }
}

/// Deterministic SplitMix64 so fuzz failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
