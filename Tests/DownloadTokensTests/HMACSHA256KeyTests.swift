//===----------------------------------------------------------------------===//
// ImageGate: the pre-keyed HMAC-SHA256 gives the one-shot HMAC's tags (RFC 4231 and random inputs).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import Testing

@Suite struct HMACSHA256KeyTests {
    /// RFC 4231 §4.2-§4.8, HMAC-SHA-256 (test case 5, the truncated tag, is left out).
    static let vectors: [(key: [UInt8], data: [UInt8], mac: String)] = [
        (
            [UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (
            [UInt8](repeating: 0xAA, count: 20), [UInt8](repeating: 0xDD, count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        (
            Array(1...25), [UInt8](repeating: 0xCD, count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        (
            [UInt8](repeating: 0xAA, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            [UInt8](repeating: 0xAA, count: 131),
            Array(
                ("This is a test using a larger than block-size key and a larger than block-size data. The key needs"
                    + " to be hashed before being used by the HMAC algorithm.").utf8),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ]

    @Test func rfc4231Vectors() {
        for v in Self.vectors {
            #expect(Hex.encode(HMACSHA256Key(v.key).mac(v.data)) == v.mac)
            #expect(Hex.encode(Crypto.hmacSHA256(key: v.key, message: v.data)) == v.mac)
            // Split anywhere, the two parts MAC as their concatenation.
            for cut in [0, 1, v.data.count / 2, v.data.count] {
                let key = HMACSHA256Key(v.key)
                #expect(Hex.encode(key.mac(Array(v.data[..<cut]), Array(v.data[cut...]))) == v.mac)
            }
        }
    }

    /// Keys and messages around the 64-byte block boundaries and the two-block limit of the padded path (119
    /// bytes; 120 takes the streaming one), against OpenSSL's one-shot HMAC; one key used for many messages (the
    /// contexts are copied per MAC, never consumed).
    @Test func matchesOneShotHMAC() {
        var rng = SystemRandomNumberGenerator()
        for keyLength in [0, 1, 32, 63, 64, 65, 200] {
            let keyBytes = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let key = HMACSHA256Key(keyBytes)
            for length in [0, 1, 21, 54, 55, 56, 63, 64, 65, 114, 118, 119, 120, 128, 1000] {
                let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let cut = length / 3
                #expect(
                    key.mac(Array(message[..<cut]), Array(message[cut...]))
                        == Crypto.hmacSHA256(key: keyBytes, message: message))
            }
        }
        #expect(HMACSHA256Key([1, 2]) == HMACSHA256Key([1, 2]))
        #expect(HMACSHA256Key([1, 2]) != HMACSHA256Key([1, 3]))
    }
}
