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
    let blobs: BlobStore
    let clock: any WallClock
    var audit: (@Sendable (String, String, TenantID?, String, [String: String]) -> Void)? = nil

    /// One `download.session` audit record per logged-in control connection (Docs/protocols.md §7.3).
    func sessionEnded(_ file: FTPFile, bytes: UInt64, transfers: Int, secure: Bool, peer: PeerAddress) {
        let parts = file.capKey.split(separator: " ").map(String.init)
        guard parts.count >= 3, let audit, let id = ImageID(parts[0]) else { return }
        let tenant = (try? authorizer.store.image(id))?.tenant
        audit("download.session", parts[0], tenant, peer.description, [
            "serial": parts[2], "protocol": secure ? "ftps" : "ftp", "bytes": String(bytes),
            "transfers": String(transfers),
        ])
    }

    func authorize(token: String, secure: Bool, peer: PeerAddress) -> FTPLogin {
        let required: ProtocolSet = secure ? .ftps : [.ftps, .ftpPlain]
        let label = TokenRedaction.redact(token)
        switch authorizer.authorize(token: Substring(token), protocol: required, peer: peer.bytes) {
        case .failure(let denial): return .denied(reason: denial.logReason, tokenLabel: label)
        case .success(let d):
            let image = d.image
            let capKey =
                "\(image.id) \(image.generation) \(d.claims.serial.hex) \(d.claims.expiresAt) \(d.claims.kid)"
            let names = authorizer.fileNames(d)
            return .granted(FTPFile(
                name: names.minted, path: blobs.path(for: image.id), size: image.size,
                modified: image.finalizedAt ?? image.updatedAt, logID: label, capKey: capKey,
                otherNames: names.others))
        }
    }

    /// Image still available in the same generation, token not revoked and not expired (60 s leeway as in
    /// §3.3 step 5), its signing key still in the keyring (`key retire`). A transfer already running is never
    /// cut; this gates the next RETR, and a failed check ends the control connection.
    func stillValid(_ file: FTPFile) -> Bool {
        let parts = file.capKey.split(separator: " ")
        guard parts.count == 5, let id = ImageID(String(parts[0])), let generation = UInt32(parts[1]),
            let serial = ID128(hex: String(parts[2])), let expiresAt = Int64(parts[3]), let kid = UInt32(parts[4])
        else { return false }
        guard clock.now() <= expiresAt + 60 else { return false }
        guard authorizer.signingKeyExists(kid) else { return false }
        guard let image = try? authorizer.store.image(id), image.status == .available,
            image.generation == generation
        else { return false }
        return (try? authorizer.store.isRevoked(serial: serial)) == false
    }
}
