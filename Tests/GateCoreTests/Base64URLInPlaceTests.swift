//===----------------------------------------------------------------------===//
// ImageGate: the in-place base64url decoder agrees with the generic one on every input.
//===----------------------------------------------------------------------===//
import GateCore
import Testing

@Suite struct Base64URLInPlaceTests {
    /// Random texts over the alphabet plus bytes outside it ('=', '.', '+', '/', space, 0x80), every length
    /// from 0 to 70 (each residue mod 4, non-zero trailing bits included).
    @Test func sameResultAsGenericDecode() {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let outside: [UInt8] = [0x3D, 0x2E, 0x2B, 0x2F, 0x20, 0x80, 0x00]
        var rng = SystemRandomNumberGenerator()
        for length in 0...70 {
            for round in 0..<20 {
                var text = (0..<length).map { _ in alphabet.randomElement(using: &rng)! }
                if round % 4 == 3, length > 0 {
                    text[Int.random(in: 0..<length, using: &rng)] = outside.randomElement()!
                }
                let generic = Base64URL.decode(text[...])
                let inPlace = text.withUnsafeBufferPointer { Base64URL.decode($0) }
                #expect(generic == inPlace, "\(String(decoding: text, as: UTF8.self))")
            }
        }
        let encoded = Array(Base64URL.encode((0..<93).map { UInt8($0) }).utf8)
        #expect(encoded.withUnsafeBufferPointer { Base64URL.decode($0) } == (0..<93).map { UInt8($0) })
    }
}
