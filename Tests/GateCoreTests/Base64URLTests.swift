//===----------------------------------------------------------------------===//
// ImageGate: canonical base64url and hex.
//===----------------------------------------------------------------------===//
import GateCore
import Testing

@Suite struct Base64URLTests {
    @Test(
        "RFC 4648 §10 vectors, url alphabet, no padding",
        arguments: [
            ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ])
    func vectors(plain: String, encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    @Test("url-safe characters replace + and /")
    func urlAlphabet() {
        #expect(Base64URL.encode([0xfb, 0xff, 0xbf]) == "-_-_")
        #expect(Base64URL.decode("-_-_") == [0xfb, 0xff, 0xbf])
    }

    @Test(
        "non-canonical or foreign text is refused",
        arguments: [
            "Zg==", "Zm9v=", "Zh", "Zm9", "Z", "Zm9v+", "Zm9v/", "Zm 9v", "Zm9v\n", "Zm9vY",
        ])
    func refused(text: String) {
        // "Zh" and "Zm9" carry non-zero unused bits: a second spelling of "f"/"fo" must not decode.
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("every byte string round-trips")
    func roundTrip() {
        var rng = SystemRandomNumberGenerator()
        for n in 0..<80 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }

    @Test func hex() {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "00abff")
        #expect(Hex.decode("00ABff") == [0x00, 0xab, 0xff])
        #expect(Hex.decode("0") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
