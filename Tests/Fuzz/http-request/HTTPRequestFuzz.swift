//===----------------------------------------------------------------------===//
// ImageGate fuzz target: the HTTP/1.1 request-head parser (Docs/testing.md).
//===----------------------------------------------------------------------===//
import HTTPServer

/// Parses the input as a request head, then again with every prefix length a client could have delivered so
/// far (the parser is re-run on each read), and checks the promises of `ParseResult`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let parser = RequestParser()
    switch parser.parse(bytes) {
    case .head(let head, let consumed):
        precondition(consumed > 0 && consumed <= size, "consumed \(consumed) of \(size)")
        precondition(!head.method.isEmpty && !head.path.isEmpty)
        // A shorter buffer that ends before the empty line must not produce a head.
        if consumed > 1 {
            if case .head = parser.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<consumed - 1])) {
                preconditionFailure("a head before its terminating empty line")
            }
        }
    case .needMore, .failure:
        break
    }
    // Small limits make the 414/431 paths reachable with short inputs.
    var small = ParseLimits()
    small.maxRequestLine = 16
    small.maxHeaderBytes = 32
    small.maxHeaderCount = 2
    _ = RequestParser(limits: small).parse(bytes)
    return 0
}
