//===----------------------------------------------------------------------===//
// ImageGate: minting download links: one signed token, one URL per enabled protocol.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import Foundation
import DownloadTokens
import GateCore
import ImageCatalog
import ImageManagement
import SFTPServer
import SystemIO

struct MintedLink: Sendable {
    let imageID: ImageID
    /// The image's display name when minted (the bulk mint's CSV column `image_name`).
    var imageName = ""
    let fileName: String
    /// Protocol name (`http`, later `https`, `sftp`, `ftp`) → URL.
    var urls: [(String, String)]
    let issuedAt: Int64
    let expiresAt: Int64
    let serial: ID128
    /// Ready command lines (name → shell command), e.g. the FTP clients' resuming downloads.
    var commands: [(String, String)] = []
    /// Ready command lines for SFTP clients (`openssh`, `lftp`, `curl`), see SFTPLinks.
    var sftpCommands: [String: String] = [:]
    /// The certificate to fetch and pin (nil: the configured certificate is trusted through the system CAs).
    var caPin: CertificatePin? = nil
    /// Whether the link follows a running server's policy (false: no server ran, the minting configuration's).
    var policyFromServer = true
    /// The catalog's record of the link (options; usage starts at zero).
    var record: TokenIssue? = nil
}

/// Where links point, per protocol: the configured public URL, else the running server's listener (from its
/// run file), else the configured listen address.
struct LinkBases: Sendable {
    var http: String
    var https: String

    init(_ settings: Settings) {
        let run = RunFile.read(settings.runFile)
        http =
            settings.httpPublicURL.isEmpty
            ? "http://" + Self.reachable(run?.http ?? settings.httpListen.description) : settings.httpPublicURL
        https =
            settings.httpsPublicURL.isEmpty
            ? "https://" + Self.reachable(run?.https ?? settings.httpsListen.description) : settings.httpsPublicURL
    }

    /// A wildcard bind address is not something a client can connect to.
    static func reachable(_ address: String) -> String {
        address.replacingOccurrences(of: "0.0.0.0:", with: "127.0.0.1:").replacingOccurrences(
            of: "[::]:", with: "[::1]:")
    }
}

struct LinkMinter: Sendable {
    let data: DataDirectory
    /// Resolved at each mint: the server writes its bound ports to the run file only after its listeners
    /// started, which is after this minter was built.
    var bases: LinkBases { LinkBases(data.settings) }
    /// Where SFTP links point: `host:port` (nil: from the run file or configuration).
    var sftpAddress: String? = nil

    /// Mints a link for `id` on behalf of `principal` with `options` (MintOptions): the service checks the
    /// caller may read the image and that it is available, and records the link (serial, minter, expiry,
    /// options) in the catalog and the audit log.
    func mint(_ principal: Principal, _ id: ImageID, options: MintOptions, source: String, service: ImageService)
        throws(GateError) -> MintedLink
    {
        let settings = data.settings
        let ttl = options.ttl ?? settings.tokenDefaultTTL
        guard ttl > 0 else { throw GateError.invalid("ttl must be positive") }
        guard ttl <= settings.tokenMaxTTL else {
            throw GateError.invalid(
                "ttl \(DurationText.format(ttl)) is longer than tokens.max_ttl (\(DurationText.format(settings.tokenMaxTTL)))"
            )
        }
        // What the token may do is the running server's policy (LinkPolicy), whoever mints; the options
        // narrow it.
        let (policy, fromServer) = LinkPolicy.effective(settings)
        let (names, protocols) = try options.grant(under: policy)
        let image = try service.authorizeMint(principal, id)
        let now = data.clock.now()
        guard let serial = ID128(bytes: Crypto.randomBytes(16)) else { throw GateError.internal("random serial") }
        let keyring = data.keys.keyring()
        // One prefix fits in the token itself (checked even before the catalog); several are the catalog's.
        let claims = TokenClaims(
            kid: keyring.active.kid, tenant: image.tenant, image: image.id, generation: image.generation,
            serial: serial, issuedAt: now, expiresAt: now + ttl, protocols: protocols,
            ipBinding: options.allowedIPs.count == 1 ? options.allowedIPs[0] : nil)
        let token = TokenCodec(deploymentID: data.keys.deploymentID).mint(claims, key: keyring.active)
        let issue = TokenIssue(
            serial: serial, image: image.id, tenant: image.tenant, issuedAt: now, expiresAt: now + ttl,
            protocols: protocols.rawValue, minter: principal.accountID, fileName: image.fileName,
            options: LinkOptions(
                protocols: names, allowedIPs: options.allowedIPs.map(\.description),
                maxDownloads: options.maxDownloads, imageSize: Int64(clamping: image.size), label: options.label))
        try service.recordMint(principal, issue, source: source)
        let path = "/d/\(token)/\(image.fileName)"
        let bases = self.bases
        var link = MintedLink(
            imageID: image.id, fileName: image.fileName, urls: [], issuedAt: now, expiresAt: now + ttl,
            serial: serial)
        link.record = issue
        link.imageName = image.name
        link.policyFromServer = fromServer
        link.caPin = policy.caSHA256.map { CertificatePin(url: bases.http + CACertificate.path, sha256: $0) }
        if names.contains("https") {
            link.urls.append(("https", bases.https + path))
            link.commands = HTTPSLinks.commands(url: bases.https + path, pin: link.caPin)
        }
        if names.contains("http") { link.urls.append(("http", bases.http + path)) }
        // One ftp:// address serves FTPS (AUTH TLS) and plain FTP alike.
        if names.contains("ftps") || names.contains("ftp"), let ftpAddress = FTPLinks.address(settings) {
            let ftp = FTPLinks.url(
                address: ftpAddress, user: image.id.description, token: token, fileName: image.fileName)
            link.urls.append(("ftp", ftp))
            link.commands += FTPLinks.commands(url: ftp, pin: link.caPin).map { ("ftp_" + $0.0, $0.1) }
        }
        if names.contains("sftp") {
            let sftpAddress = self.sftpAddress ?? SFTPLinks.address(settings)
            let hostKeys = (try? SSHHostKeys.loadOrCreate(directory: settings.sshHostKeyDir)) ?? []
            link.urls.append(("sftp", SFTPLinks.url(token: token, address: sftpAddress, fileName: image.fileName)))
            link.sftpCommands = SFTPLinks.commands(
                token: token, address: sftpAddress, fileName: image.fileName, hostKeys: hostKeys)
        }
        return link
    }
}
