//===----------------------------------------------------------------------===//
// ImageGate: minting download links: one signed token, one URL per enabled protocol.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Foundation
import DownloadTokens
import GateCore
import ImageCatalog
import SFTPServer
import SystemIO

struct MintedLink: Sendable {
    let imageID: ImageID
    let fileName: String
    /// Protocol name (`http`, later `https`, `sftp`, `ftp`) → URL.
    var urls: [(String, String)]
    let issuedAt: Int64
    let expiresAt: Int64
    let serial: ID128
    /// Ready command lines for SFTP clients (`openssh`, `lftp`, `curl`), see SFTPLinks.
    var sftpCommands: [String: String] = [:]
}

struct LinkMinter: Sendable {
    let data: DataDirectory
    /// Where HTTP links point: `http://host:port`.
    let httpBase: String
    /// Where SFTP links point: `host:port`.
    var sftpAddress: String? = nil

    /// The base URL for HTTP links: the configured public URL, else the running server's listener,
    /// else the configured listen address.
    static func httpBase(_ settings: Settings) -> String {
        if !settings.httpPublicURL.isEmpty { return settings.httpPublicURL }
        var address = settings.httpListen.description
        if let run = RunFile.read(settings.runFile) { address = run.http }
        // A wildcard bind address is not something a client can connect to.
        address = address.replacingOccurrences(of: "0.0.0.0:", with: "127.0.0.1:")
            .replacingOccurrences(of: "[::]:", with: "[::1]:")
        return "http://" + address
    }

    func mint(_ id: ImageID, ttl requested: Int64?, minter: String) throws(GateError) -> MintedLink {
        let settings = data.settings
        let ttl = requested ?? settings.tokenDefaultTTL
        guard ttl > 0 else { throw GateError.usage("--ttl must be positive") }
        guard ttl <= settings.tokenMaxTTL else {
            throw GateError.usage(
                "--ttl \(DurationText.format(ttl)) is longer than tokens.max_ttl (\(DurationText.format(settings.tokenMaxTTL)))")
        }
        guard let image = try data.store.image(id) else { throw GateError.notFound("no image \(id)") }
        guard image.status == .available else {
            throw GateError.conflict("image \(id) is \(image.status.rawValue); only available images can be downloaded")
        }
        let now = data.clock.now()
        guard let serial = ID128(bytes: Crypto.randomBytes(16)) else { throw GateError.internal("random serial") }
        let keyring = data.keys.keyring()
        let protocols: ProtocolSet = [.http, .httpPlain, .sftp]
        let claims = TokenClaims(
            kid: keyring.active.kid, tenant: image.tenant, image: image.id, generation: image.generation,
            serial: serial, issuedAt: now, expiresAt: now + ttl, protocols: protocols, ipBinding: nil)
        let token = TokenCodec(deploymentID: data.keys.deploymentID).mint(claims, key: keyring.active)
        try data.store.recordTokenIssue(
            TokenIssue(
                serial: serial, image: image.id, tenant: image.tenant, issuedAt: now, expiresAt: now + ttl,
                protocols: protocols.rawValue, minter: minter))
        let http = "\(httpBase)/d/\(token)/\(image.fileName)"
        var link = MintedLink(
            imageID: image.id, fileName: image.fileName, urls: [("http", http)], issuedAt: now, expiresAt: now + ttl,
            serial: serial)
        let sftpAddress = self.sftpAddress ?? SFTPLinks.address(settings)
        let hostKeys = (try? SSHHostKeys.loadOrCreate(directory: settings.sshHostKeyDir)) ?? []
        link.urls.append(("sftp", SFTPLinks.url(token: token, address: sftpAddress, fileName: image.fileName)))
        link.sftpCommands = SFTPLinks.commands(
            token: token, address: sftpAddress, fileName: image.fileName, hostKeys: hostKeys)
        return link
    }
}
