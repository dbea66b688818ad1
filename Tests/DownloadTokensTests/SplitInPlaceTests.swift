//===----------------------------------------------------------------------===//
// ImageGate: the in-place token split refuses and accepts exactly what the copying split does.
//===----------------------------------------------------------------------===//
import GateCore
import Testing
@testable import DownloadTokens

@Suite struct SplitInPlaceTests {
    static func same(_ token: String) -> Bool {
        let a = TokenCodec.splitCopying(token)
        let b = Array(token.utf8).withUnsafeBufferPointer { TokenCodec.splitInPlace($0) }
        return a?.payload == b?.payload && a?.tag == b?.tag
    }

    @Test func everySingleCharacterChangeOfAValidToken() {
        let token =
            TokenCodec.prefix + Base64URL.encode([UInt8](repeating: 7, count: TokenPayload.length)) + "."
            + Base64URL.encode([UInt8](repeating: 9, count: TokenPayload.tagLength))
        #expect(token.utf8.count == TokenCodec.tokenLength)
        #expect(TokenCodec.splitCopying(token) != nil)
        #expect(Self.same(token))
        let bytes = Array(token.utf8)
        for i in bytes.indices {
            for c in Array(".A_-=+/ \u{7f}".utf8) + [0x80] {
                var t = bytes
                t[i] = c
                #expect(Self.same(String(decoding: t, as: UTF8.self)), "position \(i) byte \(c)")
            }
            // One byte removed, one inserted.
            var shorter = bytes
            shorter.remove(at: i)
            #expect(Self.same(String(decoding: shorter, as: UTF8.self)))
            var longer = bytes
            longer.insert(UInt8(ascii: "A"), at: i)
            #expect(Self.same(String(decoding: longer, as: UTF8.self)))
        }
        #expect(Self.same(""))
        #expect(Self.same(TokenCodec.prefix))
        #expect(Self.same(token + String(repeating: "A", count: 200)))
    }
}
