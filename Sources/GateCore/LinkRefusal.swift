//===----------------------------------------------------------------------===//
// ImageGate: why a link whose MAC verifies is refused, and the one sentence every front says for it.
//===----------------------------------------------------------------------===//

/// A refusal of an authentic link (its MAC verified): the recipient may be told why (issue 14, item 5). A
/// token whose MAC does not verify is never one of these: it keeps the uniform 404 / generic refusal.
public enum LinkRefusal: String, Sendable, CaseIterable {
    case expired, revoked, exhausted, addressNotAllowed

    /// One line, the same on every front (HTTP body, FTP 530 reply, SSH user-authentication banner).
    public var sentence: String {
        switch self {
        case .expired: "This download address has expired: ask for a new download address."
        case .revoked: "This download address was revoked: ask for a new download address."
        case .exhausted: "This download address has been used up: ask for a new download address."
        case .addressNotAllowed: "This download address may not be used from your network address: ask for a new download address."
        }
    }

    /// 410 Gone, or 403 Forbidden when the client's address is the reason.
    public var httpStatus: Int { self == .addressNotAllowed ? 403 : 410 }
}
