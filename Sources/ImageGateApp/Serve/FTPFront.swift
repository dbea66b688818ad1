//===----------------------------------------------------------------------===//
// ImageGate: starting the FTP/FTPS listener for `serve` (kept apart from ServeCommand's other fronts).
//===----------------------------------------------------------------------===//
import FTPServer
import GateCore
import ImageCatalog
import SystemIO
import TLSSupport

enum FTPFront {
    /// Starts the FTP listener unless `ftp.listen = off`. Returns it with the bound address for the run file.
    static func start(
        _ settings: Settings, authorizer: DownloadAuthorizer, blobs: any BlobStorage,
        accessLog: LineSink?, logger: Logger, tls: TLSContextHolder,
        audit: (@Sendable (String, String, TenantID?, String, [String: String]) -> Void)? = nil
    ) throws(GateError) -> (FTPListener, ListenAddress)? {
        guard let address = settings.ftp.listen else { return nil }
        let policy = FTPPolicy(authorizer: authorizer, blobs: blobs, logger: logger, audit: audit)
        var config = settings.ftp.serverConfig
        if let publicHost = settings.ftp.publicHost {
            guard let ip = publicHost.ipv4() else {
                throw GateError.usage(
                    "ftp.public_host: \(publicHost.host) has no IPv4 address, which 227 replies need")
            }
            config.passiveReplyAddress = ip
        }
        let listener = try FTPListener.start(
            address: address, config: config, tls: tls, policy: policy, accessLog: accessLog,
            logger: logger)
        var bound = address
        bound.port = listener.port
        return (listener, bound)
    }

    /// The start-up line tests and operators read: `ftp: listening on ftp://HOST:PORT (explicit TLS required)`.
    static func banner(_ bound: ListenAddress, _ settings: Settings) -> String {
        "ftp: listening on ftp://\(bound) (\(settings.ftp.allowPlain ? "plain allowed" : "explicit TLS required"))"
            + "; certificate \(absolutePath(tlsCertificatePath(settings)))"
    }
}
