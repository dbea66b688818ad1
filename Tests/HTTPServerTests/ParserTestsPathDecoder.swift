//===----------------------------------------------------------------------===//
// ImageGate: PathDecoder tests (Docs/protocols.md §2.1 item 11, §2.2 traversal inputs)
//===----------------------------------------------------------------------===//

import HTTPServer
import Testing

@Suite("PathDecoder")
struct ParserTestsPathDecoder {
    @Test(
        "traversal and malformed paths are refused",
        arguments: [
            "/d/tok/..%2f..%2fetc%2fpasswd", "/d/tok/%2e%2e/", "/d/tok/%2e%2e", "/d/tok/%2E%2e", "/d/tok/%2e",
            "/d/tok/..", "/d/tok/.", "/d/tok/../x", "/d/tok/.%2e", "/d/tok/a%00b", "/d/tok/a%ZZ", "/d/tok/a%2",
            "/d/tok/a%", "/d/tok/%c0%ae%c0%ae/", "/d/tok/%c0%ae%c0%ae", "/d/tok/%e0%80%ae", "/d/tok/a%2Fb",
            "/d/tok/a%2fb", "/d/tok/a%5cb", "/d/tok/a%5Cb", "/d/tok/a\\b", "d/tok/x", "", "/d//x", "//",
            "/d/tok/", "/d/tok/%ff", "/d/tok/%ed%a0%80", "/d/tok/%e2%82", "/d/tok/%0a", "/d/tok/%0d%0a",
            "/d/tok/%09", "/d/tok/%7f", "/d/tok/%c2%85", "/d/tok/a\u{1}b",
        ])
    func refused(_ path: String) {
        #expect(PathDecoder.segments(path) == nil)
    }

    @Test(
        "valid paths decode once",
        arguments: [
            ("/", [String]()),
            ("/d/tok/img.qcow2", ["d", "tok", "img.qcow2"]),
            ("/d/tok/my%20image.qcow2", ["d", "tok", "my image.qcow2"]),
            ("/d/tok/caf%C3%A9.iso", ["d", "tok", "café.iso"]),
            ("/d/tok/%E6%97%A5%E6%9C%AC.raw", ["d", "tok", "日本.raw"]),
            ("/d/tok/%252e%252e", ["d", "tok", "%2e%2e"]),
            ("/d/tok/...", ["d", "tok", "..."]),
            ("/d/tok/.hidden", ["d", "tok", ".hidden"]),
            ("/d/tok/a+b%3Bc", ["d", "tok", "a+b;c"]),
            ("/d/tok/café", ["d", "tok", "café"]),
            ("/i/img-1", ["i", "img-1"]),
        ])
    func decoded(_ path: String, _ expected: [String]) {
        #expect(PathDecoder.segments(path) == expected)
    }
}
