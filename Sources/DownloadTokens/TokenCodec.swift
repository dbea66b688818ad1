//===----------------------------------------------------------------------===//
// ImageGate: minting and verifying igt1 download tokens (Docs/protocols.md §3.2, §3.3).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore

/// Mints and verifies `igt1.<payload>.<tag>` tokens for one deployment.
///
/// `tag = HMAC-SHA256(K_kid, "igt1\0" || deploymentID || payload)`. The domain string ties the tag to this
/// format version, the deployment id stops replay from another environment that happens to share a key
/// (Docs/protocols.md §3.2, §3.6). The algorithm is fixed by the `igt1` prefix; there is no `alg` field to downgrade.
public struct TokenCodec: Sendable {
    public static let prefix = "igt1."
    /// Longest accepted token text; checked before any decoding (Docs/protocols.md §3.3 step 1, §3.6 DoS).
    public static let maxLength = 256
    /// `igt1.` + 124 + `.` + 43.
    public static let tokenLength = 5 + TokenPayload.encodedLength + 1 + TokenPayload.encodedTagLength
    /// Expiry leeway and future-dating tolerance of Docs/protocols.md §3.3 step 5, in seconds.
    public static let expirySkew: Int64 = 60
    public static let issueSkew: Int64 = 300

    public let deploymentID: [UInt8]
    /// `"igt1\0" || deploymentID`, the fixed head of every MAC input.
    private let macHead: [UInt8]

    /// `deploymentID` must be 16 bytes (see `TokenKeyStore.deploymentID`).
    public init(deploymentID: [UInt8]) {
        precondition(deploymentID.count == 16, "deployment id must be 16 bytes")
        self.deploymentID = deploymentID
        self.macHead = Array("igt1".utf8) + [0] + deploymentID
    }

    // MARK: Minting

    /// Signs `claims` with `key`. The payload's kid is always `key.kid` (the `claims.kid` value is ignored),
    /// so a token can never name a key other than the one that signed it. Callers mint with
    /// `keyring.active`; minting with a verify-only key is a caller bug that yields a short-lived token.
    public func mint(_ claims: TokenClaims, key: SigningKey) -> String {
        mint(rawPayload: TokenPayload.encode(claims, kid: key.kid), key: key)
    }

    /// Signs `claims` with the keyring's active key.
    public func mint(_ claims: TokenClaims, keyring: Keyring) -> String {
        mint(claims, key: keyring.active)
    }

    /// Signs arbitrary payload bytes. Internal: tests use it to build authentic-but-invalid payloads.
    func mint(rawPayload: [UInt8], key: SigningKey) -> String {
        Self.prefix + Base64URL.encode(rawPayload) + "." + Base64URL.encode(tag(rawPayload, key: key))
    }

    private func tag(_ payload: [UInt8], key: SigningKey) -> [UInt8] {
        key.tokenMAC.mac(macHead, payload)
    }

    // MARK: Verification

    /// Docs/protocols.md §3.3 steps 1-6 and 9, in that order; steps 7-8 (image, tenant, status, generation,
    /// deny-list, `tokens_not_before`) are the caller's, against the catalog.
    ///
    /// - Parameters:
    ///   - now: wall-clock Unix seconds from the injected clock.
    ///   - maxLifetime: policy maximum of `exp - iat`, seconds.
    ///   - protocol: the bits this front end requires, e.g. `.sftp`, or `[.http, .httpPlain]` for plain HTTP.
    ///     Every one must be in the token's `perms`; an empty set is refused (fail closed).
    ///   - peer: the client address, 4 or 16 bytes, after trusted-proxy handling. Nil means unknown: an
    ///     IP-bound token is then refused.
    /// - Returns: the claims, or the precise reason for internal logs (never for the client).
    public func verify(
        _ token: some StringProtocol, keyring: Keyring, now: Int64, maxLifetime: Int64,
        protocol required: ProtocolSet, peer: [UInt8]?
    ) -> Result<TokenClaims, TokenRejection> {
        verifyAny(token, keyring: keyring, now: now, maxLifetime: maxLifetime, protocol: required, peer: peer)
    }

    /// `verify` for a slice of a request's path (every front's case): specialized here, not through the
    /// generic witness calls another module's call of the generic form makes per request. `authentic` gets the
    /// claims whenever the MAC verified, also when a later step refused them (an expired link): the refusal its
    /// holder is told is audited with them, without checking the MAC a second time (`authenticClaims`).
    public func verify(
        _ token: Substring, keyring: Keyring, now: Int64, maxLifetime: Int64, protocol required: ProtocolSet,
        peer: [UInt8]?, authentic: inout TokenClaims?
    ) -> Result<TokenClaims, TokenRejection> {
        verifyAny(
            token, keyring: keyring, now: now, maxLifetime: maxLifetime, protocol: required, peer: peer,
            authentic: &authentic)
    }

    public func verify(
        _ token: Substring, keyring: Keyring, now: Int64, maxLifetime: Int64, protocol required: ProtocolSet,
        peer: [UInt8]?
    ) -> Result<TokenClaims, TokenRejection> {
        verifyAny(token, keyring: keyring, now: now, maxLifetime: maxLifetime, protocol: required, peer: peer)
    }

    private func verifyAny(
        _ token: some StringProtocol, keyring: Keyring, now: Int64, maxLifetime: Int64,
        protocol required: ProtocolSet, peer: [UInt8]?
    ) -> Result<TokenClaims, TokenRejection> {
        var authentic: TokenClaims?
        return verifyAny(
            token, keyring: keyring, now: now, maxLifetime: maxLifetime, protocol: required, peer: peer,
            authentic: &authentic)
    }

    private func verifyAny(
        _ token: some StringProtocol, keyring: Keyring, now: Int64, maxLifetime: Int64,
        protocol required: ProtocolSet, peer: [UInt8]?, authentic: inout TokenClaims?
    ) -> Result<TokenClaims, TokenRejection> {
        // Steps 1-3: structure (only public facts, length and layout, decide there), the key, the MAC.
        let payload: [UInt8]
        switch authenticPayload(token, keyring: keyring, now: now) {
        case .failure(let r): return .failure(r)
        case .success(let p): payload = p
        }

        // Step 4: only now interpret fields.
        let claims: TokenClaims
        switch TokenPayload.decode(payload) {
        case .success(let c):
            claims = c
            authentic = c
        case .failure(.version): return .failure(.badVersion)
        case .failure(.reserved): return .failure(.reservedBits)
        case .failure(.ipFields): return .failure(.malformed)
        }

        // Step 5: time, with overflow-safe arithmetic (iat/exp are attacker-chosen only if authentic,
        // but a bug in a minting tool must not trap the server).
        if claims.issuedAt > now.addingClamped(Self.issueSkew) { return .failure(.notYetValid) }
        if now > claims.expiresAt.addingClamped(Self.expirySkew) { return .failure(.expired) }
        let (lifetime, overflow) = claims.expiresAt.subtractingReportingOverflow(claims.issuedAt)
        if overflow || lifetime < 0 || lifetime > maxLifetime { return .failure(.lifetimeTooLong) }

        // Step 6: the front end's protocol bits.
        if required.isEmpty || !claims.protocols.isSuperset(of: required) { return .failure(.protocolNotAllowed) }

        // Step 9: IP binding (steps 7-8 belong to the caller).
        if let binding = claims.ipBinding {
            guard let peer, binding.contains(peer) else { return .failure(.addressNotAllowed) }
        }
        return .success(claims)
    }

    /// The claims of a token whose MAC verifies (steps 1-4 only: no time, protocol or address check). Used
    /// after `verify` refused an authentic token, to tell its holder why (GateCore `LinkRefusal`) and to audit
    /// the refusal by serial. nil for anything `verify` refuses before step 4: a guessed or forged token
    /// yields nothing here.
    public func authenticClaims(_ token: some StringProtocol, keyring: Keyring, now: Int64) -> TokenClaims? {
        guard case .success(let payload) = authenticPayload(token, keyring: keyring, now: now),
            case .success(let claims) = TokenPayload.decode(payload)
        else { return nil }
        return claims
    }

    /// Steps 1-3: the payload of a token whose tag is the MAC of its payload under a key the keyring may verify
    /// with now. The parts are decoded into stack storage and the tag compared there; only an authentic
    /// payload becomes an array, so a well-formed forged token costs its decoding and one MAC (issue 17).
    func authenticPayload(_ token: some StringProtocol, keyring: Keyring, now: Int64) -> Result<
        [UInt8], TokenRejection
    > {
        // Contiguous UTF-8 (native Strings and their Substrings, a request path's token): checked in place.
        if let verdict = token.utf8.withContiguousStorageIfAvailable({
            authenticPayload(bytes: $0, keyring: keyring, now: now)
        }) {
            return verdict
        }
        // Never look at more than maxLength + 1 bytes of an over-long input.
        let raw = Array(token.utf8.prefix(Self.maxLength + 1))
        return raw.withUnsafeBufferPointer { authenticPayload(bytes: $0, keyring: keyring, now: now) }
    }

    private func authenticPayload(bytes raw: UnsafeBufferPointer<UInt8>, keyring: Keyring, now: Int64) -> Result<
        [UInt8], TokenRejection
    > {
        let payloadLength = TokenPayload.length
        let tagLength = TokenPayload.tagLength
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: payloadLength + 2 * tagLength) { storage in
            let payload = storage.baseAddress!
            let tag = payload + payloadLength
            let expected = tag + tagLength
            // Step 1: structure.
            guard Self.decodeParts(raw, payload: payload, tag: tag) else { return .failure(.malformed) }
            let payloadBytes = UnsafeBufferPointer(start: payload, count: payloadLength)

            // Step 2: kid must name a usable key. Read before the MAC because it selects the MAC key.
            guard let k = keyring.keyIndex(TokenPayload.kid(payloadBytes), now: now) else {
                return .failure(.unknownKey)
            }

            // Step 3: recompute over the received bytes; CRYPTO_memcmp, never `==` (§3.3, §3.6 timing).
            // Through the array's storage: `keys[k].tokenMAC` as a value would copy the key's two midstates.
            macHead.withUnsafeBytes { head in
                keyring.keys.withUnsafeBufferPointer { keys in
                    keys[k].tokenMAC.mac(head, UnsafeRawBufferPointer(payloadBytes), into: expected)
                }
            }
            guard
                Crypto.constantTimeEqual(
                    UnsafeRawBufferPointer(start: expected, count: tagLength),
                    UnsafeRawBufferPointer(start: tag, count: tagLength))
            else { return .failure(.badSignature) }
            return .success(Array(payloadBytes))
        }
    }

    /// Step 1: `igt1.` + 124 + `.` + 43 chars, canonical base64url parts of 93 and 32 bytes.
    /// Shared with `TokenRedaction`, which must agree on what "decodes" means.
    static func split(_ token: some StringProtocol) -> (payload: [UInt8], tag: [UInt8])? {
        // Contiguous UTF-8 (native Strings and their Substrings, a request path's token): checked in place.
        if let parts = token.utf8.withContiguousStorageIfAvailable({ splitInPlace($0) }) { return parts }
        return splitCopying(token)
    }

    /// `split` for any StringProtocol (and the reference `splitInPlace` is tested against).
    static func splitCopying(_ token: some StringProtocol) -> (payload: [UInt8], tag: [UInt8])? {
        // Never look at more than maxLength + 1 bytes of an over-long input.
        let raw = Array(token.utf8.prefix(maxLength + 1))
        guard raw.count <= maxLength, raw.starts(with: prefix.utf8) else { return nil }
        var dots: [Int] = []
        for (i, c) in raw.enumerated() where c == UInt8(ascii: ".") { dots.append(i) }
        // Exactly two dots: the prefix's and the payload/tag separator.
        guard dots.count == 2 else { return nil }
        let payloadText = raw[prefix.utf8.count..<dots[1]]
        let tagText = raw[(dots[1] + 1)...]
        // Exact lengths: no truncated tags (§3.6), no padding, no trailing junk.
        guard payloadText.count == TokenPayload.encodedLength, tagText.count == TokenPayload.encodedTagLength,
            let payload = Base64URL.decode(payloadText), payload.count == TokenPayload.length,
            let tag = Base64URL.decode(tagText), tag.count == TokenPayload.tagLength
        else { return nil }
        return (payload, tag)
    }

    /// The same rule as the general path of `split`, on the bytes where they are: with the exact lengths, "two
    /// dots" means the prefix's and one at `payloadEnd` (base64url has no '.', so the decoders refuse any other).
    static func splitInPlace(_ raw: UnsafeBufferPointer<UInt8>) -> (payload: [UInt8], tag: [UInt8])? {
        var payload = [UInt8](repeating: 0, count: TokenPayload.length)
        var tag = [UInt8](repeating: 0, count: TokenPayload.tagLength)
        let ok = payload.withUnsafeMutableBufferPointer { p in
            tag.withUnsafeMutableBufferPointer { t in decodeParts(raw, payload: p.baseAddress!, tag: t.baseAddress!) }
        }
        return ok ? (payload, tag) : nil
    }

    /// `splitInPlace`'s rule, decoding into `payload` (`TokenPayload.length` bytes) and `tag`
    /// (`TokenPayload.tagLength`): 124 characters always decode to 93 bytes and 43 to 32, so the lengths hold.
    static func decodeParts(
        _ raw: UnsafeBufferPointer<UInt8>, payload: UnsafeMutablePointer<UInt8>, tag: UnsafeMutablePointer<UInt8>
    ) -> Bool {
        let payloadStart = prefixBytes.count
        let payloadEnd = payloadStart + TokenPayload.encodedLength
        return raw.count == tokenLength && raw.prefix(payloadStart).elementsEqual(prefixBytes)
            && raw[payloadEnd] == UInt8(ascii: ".")
            && Base64URL.decode(UnsafeBufferPointer(rebasing: raw[payloadStart..<payloadEnd]), into: payload)
            && Base64URL.decode(UnsafeBufferPointer(rebasing: raw[(payloadEnd + 1)...]), into: tag)
    }
    /// `prefix` as bytes, for checks on a token's bytes where they are (here and in the download authorizer).
    public static let prefixBytes = Array(prefix.utf8)
}

extension Int64 {
    /// `self + delta`, saturating instead of trapping.
    fileprivate func addingClamped(_ delta: Int64) -> Int64 {
        let (v, o) = addingReportingOverflow(delta)
        return o ? (delta > 0 ? .max : .min) : v
    }
}
