//===----------------------------------------------------------------------===//
// ImageGate: one HMAC master secret with its id and rotation state.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore

/// A token-signing master secret (Docs/protocols.md §3.5). The HMAC key actually used is derived once at init:
/// `K_kid = HKDF-SHA256(secret, salt: empty, info: "image-gateway download token v1")` (RFC 5869; an empty salt
/// means 32 zero bytes, §2.2), so the master can later feed other purposes without key reuse (§3.6).
///
/// `description`, `debugDescription` and the mirror never show the secret, so a stray `print`, test
/// failure message or `dump` cannot leak it. The JSON form (`Codable`) does carry it, as hex: it is for the
/// 0600 key file only.
public struct SigningKey: Sendable, Equatable, Codable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public enum State: String, Sendable, Codable {
        /// Mints and verifies.
        case active
        /// Verifies until `verifyUntil`, never mints.
        case verifyOnly = "verify-only"
    }

    /// HKDF info string of Docs/protocols.md §3.2; changing it invalidates every token.
    public static let derivationInfo = Array("image-gateway download token v1".utf8)
    public static let secretLength = 32

    public let kid: UInt32
    public let secret: [UInt8]
    public var state: State
    public let createdAt: Int64
    /// Unix seconds after which a verify-only key counts as unknown; nil for the active key.
    public var verifyUntil: Int64?
    /// HKDF output; the HMAC key for tags.
    let tokenKey: [UInt8]
    /// `tokenKey` with its HMAC pad blocks hashed once, for minting and verifying tags.
    let tokenMAC: HMACSHA256Key

    /// `secret` must be exactly 32 bytes (programming error otherwise; decoding checks it and throws).
    public init(kid: UInt32, secret: [UInt8], state: State, createdAt: Int64, verifyUntil: Int64? = nil) {
        precondition(secret.count == Self.secretLength, "signing secret must be 32 bytes")
        self.kid = kid
        self.secret = secret
        self.state = state
        self.createdAt = createdAt
        self.verifyUntil = verifyUntil
        self.tokenKey = Crypto.hkdfSHA256(secret: secret, salt: [], info: Self.derivationInfo, length: 32)
        self.tokenMAC = HMACSHA256Key(tokenKey)
    }

    /// A new active key with a fresh random secret.
    public static func generate(kid: UInt32, now: Int64) -> SigningKey {
        SigningKey(kid: kid, secret: Crypto.randomBytes(secretLength), state: .active, createdAt: now)
    }

    /// Whether the key may verify at `now`: active, or verify-only with `now ≤ verifyUntil`.
    public func usable(at now: Int64) -> Bool {
        switch state {
        case .active: true
        case .verifyOnly: now <= (verifyUntil ?? Int64.min)
        }
    }

    /// `kid` as 8 lowercase hex digits, the form logs and redacted tokens use.
    public var kidHex: String { Self.hex(kid) }

    static func hex(_ kid: UInt32) -> String {
        Hex.encode([
            UInt8(kid >> 24), UInt8(truncatingIfNeeded: kid >> 16), UInt8(truncatingIfNeeded: kid >> 8),
            UInt8(truncatingIfNeeded: kid),
        ])
    }

    public var description: String {
        "SigningKey(kid: \(kidHex), state: \(state.rawValue), createdAt: \(createdAt), "
            + "verifyUntil: \(verifyUntil.map(String.init) ?? "nil"), secret: <redacted>)"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(
            self, children: ["kid": kidHex, "state": state, "createdAt": createdAt, "verifyUntil": verifyUntil as Any])
    }

    // MARK: Codable (key file only)

    enum CodingKeys: String, CodingKey { case kid, secret, state, createdAt, verifyUntil }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let hex = try c.decode(String.self, forKey: .secret)
        guard let secret = Hex.decode(hex), secret.count == Self.secretLength else {
            throw DecodingError.dataCorruptedError(
                forKey: .secret, in: c, debugDescription: "secret must be 64 hex digits")
        }
        self.init(
            kid: try c.decode(UInt32.self, forKey: .kid), secret: secret,
            state: try c.decode(State.self, forKey: .state), createdAt: try c.decode(Int64.self, forKey: .createdAt),
            verifyUntil: try c.decodeIfPresent(Int64.self, forKey: .verifyUntil))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kid, forKey: .kid)
        try c.encode(Hex.encode(secret), forKey: .secret)
        try c.encode(state, forKey: .state)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(verifyUntil, forKey: .verifyUntil)
    }
}
