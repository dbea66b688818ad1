//===----------------------------------------------------------------------===//
// ImageGate: the FTP front's access policy: a token (the PASS argument) opens its one image.
//===----------------------------------------------------------------------===//
import DownloadTokens
import FTPServer
import GateCore
import ImageCatalog
import SystemIO

/// Verifies FTP logins with the same steps as every front (Docs/protocols.md §3.3) and re-checks the grant before
/// each transfer. FTPS needs the token's `ftps` bit; plain FTP needs `ftps` and `ftp-plain` (§3.4: bit 3
/// is the permission to cross the network in clear text).
struct FTPPolicy: FTPAccessPolicy {
    let authorizer: DownloadAuthorizer
    let blobs: any BlobStorage
    let logger: Logger
    var audit: (@Sendable (String, String, TenantID?, String, [String: String]) -> Void)? = nil

    /// One `download.session` audit record per logged-in control connection (Docs/protocols.md §7.3).
    func sessionEnded(_ file: ServedFile, bytes: UInt64, transfers: Int, secure: Bool, peer: PeerAddress) {
        guard let audit else { return }
        let grant = file.grant
        audit(
            "download.session", grant.image.description, grant.tenant, peer.description,
            [
                "serial": grant.serial.hex, "protocol": secure ? "ftps" : "ftp", "bytes": String(bytes),
                "transfers": String(transfers),
            ])
    }

    func authorize(token: String, secure: Bool, peer: PeerAddress) -> FTPLogin {
        let required: ProtocolSet = secure ? .ftps : [.ftps, .ftpPlain]
        switch authorizer.authorize(token: Substring(token), protocol: required, peer: peer.bytes) {
        case .failure(let denial):
            return .denied(
                reason: denial.logReason, tokenLabel: TokenRedaction.redact(token),
                message: denial.linkRefusal?.sentence)
        case .success(let d): return .granted(authorizer.servedFile(d, blobs: blobs))
        }
    }

    /// The one revalidation rule of every front (`GrantRevalidation`), before each RETR: a transfer already
    /// running is never cut; a failed check ends the control connection.
    func usage(_ file: ServedFile, newSession: Bool, bytes: UInt64, secure: Bool, peer: PeerAddress) {
        authorizer.recordUse(
            file.grant, newSessions: newSession ? 1 : 0, bytes: bytes, protocolName: secure ? "ftps" : "ftp", peer: peer
        )
    }

    func stillValid(_ file: ServedFile) -> Bool {
        authorizer.stillValid(file.grant, newTransfer: true, logger: logger)
    }

    /// A RETR refused because the link expired or was revoked since login: told and audited like a login.
    func refusalMessage(_ file: ServedFile, secure: Bool, peer: PeerAddress) -> String? {
        authorizer.refusal(
            of: file.grant, newTransfer: true, protocol: secure ? .ftps : [.ftps, .ftpPlain], peer: peer.bytes)?
            .sentence
    }
}
