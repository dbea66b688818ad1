//===----------------------------------------------------------------------===//
// ImageGate fuzz target: the igt1 token codec and its redaction (Docs/testing.md, Docs/tokens.md).
//===----------------------------------------------------------------------===//
@testable import DownloadTokens

/// A fixed keyring so runs are reproducible. The input goes three ways: as a token string to `verify` and to the
/// log redaction; as raw payload bytes to the field decoder behind the MAC (which random strings never reach);
/// and, re-signed with the test key, through `verify` again so the checks after the MAC see fuzzed fields.
private let key = SigningKey(kid: 0x0102_0304, secret: Array(repeating: 7, count: 32), state: .active, createdAt: 0)
private let keyring = try! Keyring(keys: [key])
private let codec = TokenCodec(deploymentID: Array(repeating: 9, count: 16))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzToken(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: input, as: UTF8.self)
    _ = codec.verify(text, keyring: keyring, now: 1_700_000_000, maxLifetime: 86_400, protocol: .sftp, peer: nil)
    _ = TokenRedaction.redact(text)

    if input.count >= TokenPayload.length {
        let payload = Array(input.prefix(TokenPayload.length))
        if case .success(let claims) = TokenPayload.decode(payload) {
            // Minting with the test key re-encodes the claims under its kid, so the MAC step passes.
            let token = codec.mint(claims, key: key)
            precondition(token.utf8.count == TokenCodec.tokenLength, "minted token of wrong length")
            let peer: [UInt8] = input.count > TokenPayload.length ? [127, 0, 0, 1] : Array(repeating: 0, count: 16)
            _ = codec.verify(
                token, keyring: keyring, now: claims.issuedAt, maxLifetime: 86_400, protocol: .http, peer: peer)
        }
    }
    return 0
}
