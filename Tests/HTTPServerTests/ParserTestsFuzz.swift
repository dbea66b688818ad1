//===----------------------------------------------------------------------===//
// ImageGate: randomized robustness tests for the request parser and PathDecoder
//===----------------------------------------------------------------------===//

import HTTPServer
import Testing

/// Bytes that make random input reach deep parser states more often than uniform noise would.
private let alphabet: [UInt8] =
    Array("GET /HTTP1.0:\r\n \tHost:aContent-Length: 5%2e".utf8) + [0, 0x7F, 0x80, 0xFF, 0x0B]

private let seeds: [String] = [
    "GET /d/tok/img.qcow2 HTTP/1.1\r\nHost: gw\r\nRange: bytes=0-\r\nConnection: keep-alive\r\n\r\n",
    "POST /u HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
    "\r\nGET http://h:1/a?b HTTP/1.0\nX: y\n\n",
]

/// Checks the invariants every result must satisfy.
private func checkInvariants(_ bytes: [UInt8]) {
    switch parse(bytes) {
    case .needMore:
        break
    case .head(let head, let consumed):
        #expect(consumed > 0 && consumed <= bytes.count)
        #expect(head.path.hasPrefix("/"))
        #expect(!head.method.isEmpty)
        // The field table read two ways agrees: every listed field is what a lookup by its name finds first.
        let fields = head.headers
        #expect(fields.count == head.fieldCount)
        for (name, _) in fields {
            #expect(head.header(name) == fields.first { $0.name == name }?.value)
            #expect(head.headers(name) == fields.filter { $0.name == name }.map(\.value))
        }
        // A complete head is never reported early: every shorter prefix still needs more.
        for length in stride(from: 0, to: consumed, by: max(1, consumed / 16)) {
            #expect(parse(Array(bytes[0..<length])).isNeedMore)
        }
    case .failure(let error):
        #expect([400, 414, 431, 501, 505].contains(error.status))
    }
}

@Suite("RequestParser fuzz")
struct ParserFuzzTests {
    @Test("random buffers never crash")
    func randomBuffers() {
        var rng = SplitMix64(state: 0x1D6E_57A7_E000_0001)
        for _ in 0..<5000 {
            let length = Int.random(in: 0...160, using: &rng)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(length)
            for _ in 0..<length {
                let fromAlphabet = Bool.random(using: &rng)
                bytes.append(
                    fromAlphabet ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng))
            }
            checkInvariants(bytes)
        }
    }

    @Test("mutated valid requests never crash")
    func mutatedRequests() {
        var rng = SplitMix64(state: 0xBADC_0FFE_E0DD_F00D)
        for _ in 0..<5000 {
            var bytes = Array(seeds.randomElement(using: &rng)!.utf8)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                let b = alphabet.randomElement(using: &rng)!
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[at] = b
                case 1: bytes.insert(b, at: at)
                default: if bytes.count > 1 { bytes.remove(at: at) }
                }
            }
            checkInvariants(bytes)
        }
    }

    @Test("random paths never crash and never yield dot or slash segments")
    func randomPaths() {
        var rng = SplitMix64(state: 42)
        let pieces = ["/", "%2e", "%2f", "%5c", ".", "..", "a", "%c0%ae", "%00", "%", "%e6%97%a5", "%zz", "b%20"]
        for _ in 0..<5000 {
            let path = (0..<Int.random(in: 0...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            if let segments = PathDecoder.segments(path) {
                for s in segments {
                    #expect(s != "." && s != ".." && !s.isEmpty)
                    #expect(!s.contains("/") && !s.contains("\\") && !s.contains("\u{0}"))
                }
            }
        }
    }
}
