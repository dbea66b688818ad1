//===----------------------------------------------------------------------===//
// ImageGate: why a link whose MAC verifies is refused, in the one sentence every front says.
//===----------------------------------------------------------------------===//

/// A download address that is authentic (its MAC verifies) but may not be used now. The recipient is told why
/// (issue 14 item 5, Docs/links.md "Refused links"); a token whose MAC does not verify never gets here and keeps
/// the uniform 404 / generic refusal, so a guesser learns nothing.
///
/// The raw value is the `reason` of the `download.refused` audit record.
public enum LinkRefusal: String, Sendable, CaseIterable {
    case expired
    case revoked
    case exhausted
    case addressNotAllowed

    /// The one-line text of the HTTP body, the FTP 530 reply and the SSH user-authentication banner.
    public var sentence: String {
        switch self {
        case .expired: "This download address has expired: ask for a new download address."
        case .revoked: "This download address was revoked: ask for a new download address."
        case .exhausted: "This download address has been used up: ask for a new download address."
        case .addressNotAllowed:
            "This download address may not be used from your network address: ask for a new download address."
        }
    }

    /// 410 Gone: the address is gone for good; 403 when only the client's network address is wrong.
    public var httpStatus: Int {
        switch self {
        case .addressNotAllowed: 403
        case .expired, .revoked, .exhausted: 410
        }
    }
}
