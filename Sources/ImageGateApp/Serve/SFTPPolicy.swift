//===----------------------------------------------------------------------===//
// ImageGate: the SFTP front's access policy: download tokens checked against the catalog.
//===----------------------------------------------------------------------===//
import DownloadTokens
import GateCore
import ImageCatalog
import SFTPServer
import SystemIO

/// Tokens are verified at login exactly as for HTTP (Docs/protocols.md §3.3) but must carry the `sftp` bit.
/// During a session the grant is re-checked against the catalog only: the image must still be available
/// in the same generation and the token not revoked. Expiry is checked at login only, so a multi-GB
/// transfer started in time is not cut when the link's lifetime ends.
struct SFTPPolicy: SFTPAccessPolicy {
    let authorizer: DownloadAuthorizer
    let blobs: BlobStore
    let logger: Logger
    var audit: (@Sendable (String, String, TenantID?, String, [String: String]) -> Void)? = nil

    /// One `download.session` audit record per SFTP session (Docs/protocols.md §7.3).
    func sessionEnded(_ file: SFTPFile, bytes: UInt64, peer: PeerAddress, outcome: String) {
        let parts = file.grant.split(separator: " ").map(String.init)
        guard parts.count == 4, let audit, let id = ImageID(parts[0]) else { return }
        let tenant = (try? authorizer.store.image(id))?.tenant
        audit("download.session", parts[0], tenant, peer.description, [
            "serial": parts[2], "protocol": "sftp", "bytes": String(bytes), "outcome": outcome,
        ])
    }

    func authorize(token: String, peer: PeerAddress) -> SFTPFile? {
        switch authorizer.authorize(token: Substring(token), protocol: .sftp, peer: peer.bytes) {
        case .failure(let denial):
            logger.debug("sftp \(peer): \(TokenRedaction.redact(token)) refused: \(denial.logReason)")
            return nil
        case .success(let d):
            let image = d.image
            let names = authorizer.fileNames(d)
            return SFTPFile(
                name: names.minted, path: blobs.path(for: image.id), size: image.size,
                modified: image.finalizedAt ?? image.updatedAt, logID: TokenRedaction.redact(token),
                capKey: d.claims.serial.hex,
                grant: "\(image.id) \(image.generation) \(d.claims.serial.hex) \(d.claims.kid)",
                otherNames: names.others)
        }
    }

    func stillValid(_ file: SFTPFile) -> Bool {
        let parts = file.grant.split(separator: " ")
        guard parts.count == 4, let id = ImageID(String(parts[0])), let generation = UInt32(parts[1]),
            let serial = ID128(hex: String(parts[2])), let kid = UInt32(parts[3])
        else { return false }
        // A retired or removed signing key ends every session its tokens opened (`imagegate key retire`).
        guard authorizer.signingKeyExists(kid) else { return false }
        do {
            guard let image = try authorizer.store.image(id), image.status == .available,
                image.generation == generation
            else { return false }
            return try !authorizer.store.isRevoked(serial: serial)
        } catch {
            // A catalog hiccup is not a reason to cut a transfer; the next check decides.
            logger.warning("sftp: revalidation of \(file.logID) failed: \(error.message)")
            return true
        }
    }
}

/// Starting the SFTP front from `serve`, kept here so ServeCommand only gains a few lines.
enum SFTPFront {
    static func start(
        _ settings: Settings, authorizer: DownloadAuthorizer, blobs: BlobStore, accessLog: LineSink?, logger: Logger,
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
