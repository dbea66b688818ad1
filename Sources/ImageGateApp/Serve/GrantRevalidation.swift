//===----------------------------------------------------------------------===//
// ImageGate: the one rule for download sessions already open (FTP before each RETR, SFTP every 3 s).
//===----------------------------------------------------------------------===//
import DownloadTokens
import GateCore
import ImageCatalog
import Synchronization

/// Whether a session may go on, decided the same way on every front (Docs/tokens.md, "Sessions"):
///
/// - A definite answer ends it at once: image deleted, no longer available or in another generation, token
///   revoked, signing key retired or removed. Fail closed: the operator's revocation or delete wins.
/// - Expiry gates new transfers only (an FTP RETR; an SFTP login); a transfer started in time is not cut.
/// - No answer (the catalog is unreachable): the grant stays valid while its last confirmation is at most
///   `outageGrace` old, then fails closed. Nothing can be revoked through a catalog nobody reaches, so this
///   only bridges a short outage (a database failover) without letting a session outlive a long one.
enum GrantRevalidation {
    /// Seconds a grant may go unconfirmed while the catalog does not answer.
    static let outageGrace: Int64 = 60

    enum CatalogAnswer: Equatable {
        /// Image available in the grant's generation and tenant, token not revoked.
        case current
        /// A reason the grant ended (for the log).
        case ended(String)
        /// The catalog did not answer.
        case unreachable
    }

    /// The verdict, and whether the grant counts as confirmed now.
    static func decide(_ answer: CatalogAnswer, confirmedAt: Int64, now: Int64) -> Bool {
        switch answer {
        case .current: true
        case .ended: false
        case .unreachable: now - confirmedAt <= outageGrace
        }
    }
}

extension DownloadAuthorizer {
    /// The rule above for one grant. `newTransfer` is true before a transfer starts (FTP RETR): only then
    /// does expiry count (60 s leeway, Docs/protocols.md §3.3 step 5).
    func stillValid(_ grant: DownloadGrant, newTransfer: Bool, logger: Logger) -> Bool {
        let now = clock.now()
        if newTransfer && now > grant.expiresAt + TokenCodec.expirySkew { return false }
        // The keyring is local (key files, or the catalog's copy): no catalog round trip.
        guard signingKeyExists(grant.keyID) else { return false }
        let answer = catalogAnswer(grant, newTransfer: newTransfer)
        switch answer {
        case .current: grant.confirmedAt.store(now, ordering: .relaxed)
        case .ended(let why): logger.debug("\(grant): no longer valid: \(why)")
        case .unreachable:
            logger.warning(
                "\(grant): catalog unreachable; grant last confirmed \(now - grant.confirmedAt.load(ordering: .relaxed)) s ago"
            )
        }
        return GrantRevalidation.decide(answer, confirmedAt: grant.confirmedAt.load(ordering: .relaxed), now: now)
    }

    /// Why a grant that `stillValid` refused ended, when its holder is told (Docs/links.md "Refused links"):
    /// expired (only where expiry counts: a new transfer), revoked, or used up (its max_downloads allowance
    /// reached; also only for a new transfer, like `catalogAnswer`); nil for the other endings (image
    /// deleted, replaced, key retired, catalog unreachable), which keep the generic reply. Asked only after a
    /// refusal; audited as `download.refused` like a refused login.
    func refusal(of grant: DownloadGrant, newTransfer: Bool, protocol proto: ProtocolSet, peer: [UInt8]?)
        -> LinkRefusal?
    {
        let now = clock.now()
        let refusal: LinkRefusal
        if newTransfer && now > grant.expiresAt + TokenCodec.expirySkew {
            refusal = .expired
        } else if (try? store.isRevoked(serial: grant.serial)) == true {
            refusal = .revoked
        } else if newTransfer, (try? store.tokenIssue(serial: grant.serial))??.state(now: now) == .exhausted {
            refusal = .exhausted
        } else {
            return nil
        }
        refusals?.record(
            refusal, serial: grant.serial, image: grant.image, tenant: grant.tenant,
            protocolName: Self.protocolName(proto) ?? proto.description, client: RefusedDownloadAudit.addressText(peer),
            now: now)
        return refusal
    }

    private func catalogAnswer(_ grant: DownloadGrant, newTransfer: Bool) -> GrantRevalidation.CatalogAnswer {
        do {
            guard let image = try store.image(grant.image) else { return .ended("image_not_found") }
            guard image.tenant == grant.tenant else { return .ended("tenant_mismatch") }
            guard image.status == .available else { return .ended("image_not_available") }
            guard image.generation == grant.generation else { return .ended("stale_generation") }
            if try store.isRevoked(serial: grant.serial) { return .ended("token_revoked") }
            // A used-up allowance refuses the next transfer (FTP RETR), never the one under way.
            if newTransfer, try store.tokenIssue(serial: grant.serial)?.state(now: clock.now()) == .exhausted {
                return .ended("link_exhausted")
            }
            return .current
        } catch {
            return .unreachable
        }
    }
}
