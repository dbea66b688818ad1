//===----------------------------------------------------------------------===//
// ImageGate: the SFTP front's access policy: download tokens checked against the catalog.
//===----------------------------------------------------------------------===//
import DownloadTokens
import GateCore
import ImageCatalog
import SFTPServer
import SystemIO

/// Tokens are verified at login exactly as for HTTP (Docs/protocols.md §3.3) but must carry the `sftp` bit.
/// During a session the grant is re-checked every 3 s by the one rule of every front (`GrantRevalidation`):
/// expiry counts at login only, so a multi-GB transfer started in time is not cut when the link's lifetime ends.
struct SFTPPolicy: SFTPAccessPolicy {
    let authorizer: DownloadAuthorizer
    let blobs: any BlobStorage
    let logger: Logger
    var audit: (@Sendable (String, String, TenantID?, String, [String: String]) -> Void)? = nil

    /// One `download.session` audit record per SFTP session (Docs/protocols.md §7.3).
    func sessionEnded(_ file: ServedFile, bytes: UInt64, peer: PeerAddress, outcome: String) {
        guard let audit else { return }
        let grant = file.grant
        audit(
            "download.session", grant.image.description, grant.tenant, peer.description,
            [
                "serial": grant.serial.hex, "protocol": "sftp", "bytes": String(bytes), "outcome": outcome,
            ])
    }

    func authorize(token: String, peer: PeerAddress) -> SFTPLogin {
        switch authorizer.authorize(token: Substring(token), protocol: .sftp, peer: peer.bytes) {
        case .failure(let denial):
            logger.debug("sftp \(peer): \(TokenRedaction.redact(token)) refused: \(denial.logReason)")
            return denial.linkRefusal.map { .refused(message: $0.sentence) } ?? .denied
        case .success(let d):
            return .granted(authorizer.servedFile(d, blobs: blobs))
        }
    }

    func usage(_ file: ServedFile, newSession: Bool, bytes: UInt64, peer: PeerAddress) {
        authorizer.recordUse(
            file.grant, newSessions: newSession ? 1 : 0, bytes: bytes, protocolName: "sftp", peer: peer)
    }

    /// A used-up link's next OPEN: told why and audited as `download.refused`, like a refused login.
    func refuseOpen(_ file: ServedFile, unreported: UInt64, peer: PeerAddress) -> String? {
        guard authorizer.allowanceUsedUp(file.grant, unreported: unreported) else { return nil }
        let g = file.grant
        authorizer.refusals?.record(
            .exhausted, serial: g.serial, image: g.image, tenant: g.tenant, protocolName: "sftp",
            client: RefusedDownloadAudit.addressText(peer.bytes), now: authorizer.clock.now())
        return LinkRefusal.exhausted.sentence
    }

    func stillValid(_ file: ServedFile) -> Bool {
        authorizer.stillValid(file.grant, newTransfer: false, logger: logger)
    }

    /// A session ended because its link was revoked: told (DISCONNECT message) and audited like a login.
    func refusalMessage(_ file: ServedFile, peer: PeerAddress) -> String? {
        authorizer.refusal(of: file.grant, newTransfer: false, protocol: .sftp, peer: peer.bytes)?.sentence
    }
}

/// Starting the SFTP front from `serve`, kept here so ServeCommand only gains a few lines.
enum SFTPFront {
    static func start(
        _ settings: Settings, authorizer: DownloadAuthorizer, blobs: any BlobStorage, accessLog: LineSink?,
        logger: Logger,
        audit: (@Sendable (String, String, TenantID?, String, [String: String]) -> Void)? = nil
    ) throws(GateError) -> SFTPListener {
        let policy = SFTPPolicy(authorizer: authorizer, blobs: blobs, logger: logger, audit: audit)
        return try SFTPListener.start(
            address: settings.sftpListen, hostKeyDirectory: settings.sshHostKeyDir, config: settings.sftp,
            policy: policy, accessLog: accessLog, logger: logger)
    }

    /// The lines `serve` prints: the listening URL, then one line per host key.
    static func banner(_ listener: SFTPListener, bound: ListenAddress) -> [String] {
        ["sftp: listening on sftp://\(bound)"] + listener.hostKeys.map { "sftp host key: \($0.kind) \($0.fingerprint)" }
    }
}
