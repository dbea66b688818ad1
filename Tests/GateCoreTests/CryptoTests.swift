//===----------------------------------------------------------------------===//
// ImageGate: the OpenSSL primitives against published vectors.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore
import Testing

@Suite struct CryptoTests {
    @Test func sha256Vectors() {
        #expect(
            Hex.encode(Crypto.sha256(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let h = SHA256Hasher()
        for chunk in ["a", "bc"] { h.update(Array(chunk.utf8)) }
        #expect(Hex.encode(h.finish()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("HMAC-SHA256, RFC 4231 test case 2")
    func hmac() {
        let mac = Crypto.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("HKDF-SHA256, RFC 5869 test case 1 (first 32 bytes)")
    func hkdf() {
        let ikm = [UInt8](repeating: 0x0b, count: 22)
        let salt = Hex.decode("000102030405060708090a0b0c")!
        let info = Hex.decode("f0f1f2f3f4f5f6f7f8f9")!
        #expect(
            Hex.encode(Crypto.hkdfSHA256(secret: ikm, salt: salt, info: info))
                == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf")
    }

    @Test func constantTimeEqual() {
        #expect(Crypto.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(Crypto.randomBytes(32) != Crypto.randomBytes(32))
    }
}
