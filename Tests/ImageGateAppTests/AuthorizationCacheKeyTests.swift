//===----------------------------------------------------------------------===//
// ImageGate: the authorization cache's key hashes a token's last bytes but compares the whole token.
//===----------------------------------------------------------------------===//
import DownloadTokens
@testable import ImageGateApp
import Testing

@Suite struct AuthorizationCacheKeyTests {
    let token = "igt1." + String(repeating: "A", count: 124) + "." + String(repeating: "b", count: 43)

    @Test func sameTokenFromDifferentPathsIsTheSameKey() {
        let a = "/d/\(token)/x.img"
        let b = "/d/\(token)/other-name.iso"
        let ka = AuthorizationCache.key(a.dropFirst(3).prefix(token.utf8.count), .http)
        let kb = AuthorizationCache.key(b.dropFirst(3).prefix(token.utf8.count), .http)
        #expect(ka == kb)
        #expect(ka.hashValue == kb.hashValue)
    }

    @Test func tokensWithTheSameTailAreDifferentKeys() {
        let forged = "igt1." + "B" + String(repeating: "A", count: 123) + "." + String(repeating: "b", count: 43)
        let k1 = AuthorizationCache.key(Substring(token), .http)
        let k2 = AuthorizationCache.key(Substring(forged), .http)
        #expect(k1.hashValue == k2.hashValue)  // only the tail is hashed...
        #expect(k1 != k2)  // ...but equality is the whole token
        var map: [AuthorizationCache.Key: Int] = [k1: 1]
        #expect(map[k2] == nil)
        map[k2] = 2
        #expect(map[k1] == 1 && map[k2] == 2)
    }

    @Test func protocolsArePartOfTheKey() {
        #expect(
            AuthorizationCache.key(Substring(token), .http)
                != AuthorizationCache.key(Substring(token), [.http, .httpPlain]))
    }

    /// The reasons made once per rejection read as the interpolation they replace (the access log's notes and
    /// the metric's label values depend on them).
    @Test func tokenReasonsAreTheInterpolatedNames() {
        for r in TokenRejection.allCases {
            #expect(DownloadAuthorizer.Denial.token(r).logReason == "token_\(r)")
        }
        #expect(DownloadAuthorizer.Denial.token(.badSignature).logReason == "token_bad_signature")
    }

    @Test func tokenPrefixCheck() {
        #expect(DownloadAuthorizer.hasTokenPrefix(Substring(token)))
        #expect(!DownloadAuthorizer.hasTokenPrefix(Substring("igt2." + token.dropFirst(5))))
        #expect(!DownloadAuthorizer.hasTokenPrefix("igt1"))
        #expect(DownloadAuthorizer.hasTokenPrefix(("xx" + token).dropFirst(2)))
    }
}
