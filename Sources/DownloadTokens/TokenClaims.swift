//===----------------------------------------------------------------------===//
// ImageGate: what a download token asserts, and why a token was refused.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore

/// The decoded fields of an igt1 payload (Docs/protocols.md §3.2). Everything here is covered by the tag.
/// Who minted it, why and for which client label lives in the catalog under `serial`, not in the token.
public struct TokenClaims: Sendable, Equatable {
    /// Signing-key id. `TokenCodec.mint` overwrites it with the signing key's id.
    public var kid: UInt32
    public var tenant: TenantID
    public var image: ImageID
    /// Image generation at mint time; the caller compares it with the catalog (§3.3 step 7).
    public var generation: UInt32
    /// Random token id: deny-list key and audit correlation id (§3.5).
    public var serial: ID128
    /// Unix seconds.
    public var issuedAt: Int64
    /// Unix seconds.
    public var expiresAt: Int64
    public var protocols: ProtocolSet
    /// When set, only clients inside this prefix may use the token (§3.3 step 9).
    public var ipBinding: IPPrefix?

    public init(
        kid: UInt32 = 0, tenant: TenantID, image: ImageID, generation: UInt32,
        serial: ID128 = TokenClaims.randomSerial(),
        issuedAt: Int64, expiresAt: Int64, protocols: ProtocolSet, ipBinding: IPPrefix? = nil
    ) {
        self.kid = kid
        self.tenant = tenant
        self.image = image
        self.generation = generation
        self.serial = serial
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.protocols = protocols
        self.ipBinding = ipBinding
    }

    /// A fresh 128-bit serial from the OpenSSL CSPRNG.
    public static func randomSerial() -> ID128 {
        // 16 random bytes always form a valid ID128.
        ID128(bytes: Crypto.randomBytes(16))!
    }
}

/// Why `TokenCodec.verify` refused a token. For internal logs and audit only: every front end must map all
/// cases to one uniform outward answer (Docs/protocols.md §3.3 step 10), except that it may answer 410 for `expired`.
public enum TokenRejection: Error, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// Wrong length, prefix, dot count, base64url form, part sizes, or an authentic payload with impossible
    /// IP fields (step 1, and step 4 for the IP fields).
    case malformed
    /// `kid` not in the keyring, or verify-only and past its `verifyUntil` (step 2).
    case unknownKey
    /// The tag does not match (step 3). Also what a token from another deployment gets.
    case badSignature
    /// Authentic payload with `ver != 1` (step 4).
    case badVersion
    /// Authentic payload with reserved `perms` bits set (step 4).
    case reservedBits
    /// `iat > now + 300` (step 5).
    case notYetValid
    /// `now > exp + 60` (step 5).
    case expired
    /// `exp - iat` above the policy maximum, or negative (step 5).
    case lifetimeTooLong
    /// The front end's protocol bits are not all in `perms` (step 6).
    case protocolNotAllowed
    /// IP-bound token and the client is outside the prefix or unknown (step 9).
    case addressNotAllowed

    /// Stable snake_case reason for audit lines.
    public var description: String {
        switch self {
        case .malformed: "malformed"
        case .unknownKey: "unknown_key"
        case .badSignature: "bad_signature"
        case .badVersion: "bad_version"
        case .reservedBits: "reserved_bits"
        case .notYetValid: "not_yet_valid"
        case .expired: "expired"
        case .lifetimeTooLong: "lifetime_too_long"
        case .protocolNotAllowed: "protocol_not_allowed"
        case .addressNotAllowed: "address_not_allowed"
        }
    }
}
