//===----------------------------------------------------------------------===//
// ImageGate: shared fixtures for the DownloadTokens tests.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
@testable import DownloadTokens

/// Fixed keys, ids and times so every case is reproducible.
enum Fixture {
    static let now: Int64 = 1_800_000_000
    static let maxLifetime: Int64 = 7 * 86_400
    static let deployment: [UInt8] = Array(0..<16)
    static let otherDeployment = [UInt8](repeating: 0xab, count: 16)
    static let secret = [UInt8](repeating: 0x07, count: 32)
    static let key = SigningKey(kid: 0x0102_0304, secret: secret, state: .active, createdAt: now - 1000)
    static let keyring = try! Keyring(keys: [key])
    static let codec = TokenCodec(deploymentID: deployment)
    static let tenant = TenantID(ID128(high: 0x1111_1111_1111_1111, low: 0x2222_2222_2222_2222))
    static let image = ImageID(ID128(high: 0x3333_3333_3333_3333, low: 0x4444_4444_4444_4444))
    static let serial = ID128(high: 0xdead_beef_0000_0001, low: 0x0123_4567_89ab_cdef)

    static func claims(
        iat: Int64 = now - 10, exp: Int64? = nil, protocols: ProtocolSet = .http, ip: IPPrefix? = nil,
        serial: ID128 = serial
    ) -> TokenClaims {
        TokenClaims(
            kid: key.kid, tenant: tenant, image: image, generation: 7, serial: serial, issuedAt: iat,
            expiresAt: exp ?? iat + 86_400, protocols: protocols, ipBinding: ip)
    }

    static func token(_ c: TokenClaims = claims(), key: SigningKey = key) -> String { codec.mint(c, key: key) }

    static func verify(
        _ token: String, keyring: Keyring = keyring, now: Int64 = now, protocol p: ProtocolSet = .http,
        peer: [UInt8]? = nil, codec: TokenCodec = codec
    ) -> Result<TokenClaims, TokenRejection> {
        codec.verify(token, keyring: keyring, now: now, maxLifetime: maxLifetime, protocol: p, peer: peer)
    }

    /// The payload bytes of a token (test-side decoding, independent of the codec's split).
    static func payload(of token: String) -> [UInt8] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        return Base64URL.decode(Array(parts[1].utf8))!
    }

    /// Re-signs arbitrary payload bytes with the fixture key.
    static func signed(_ payload: [UInt8], key: SigningKey = key) -> String {
        codec.mint(rawPayload: payload, key: key)
    }
}

extension Result where Failure == TokenRejection {
    var rejection: TokenRejection? {
        if case .failure(let r) = self { return r }
        return nil
    }
    var claims: Success? {
        if case .success(let c) = self { return c }
        return nil
    }
}

/// A fresh private temp directory, removed by `cleanup()`.
struct TempDir {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("igt-tests-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}
