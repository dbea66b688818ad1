//===----------------------------------------------------------------------===//
// ImageGate: what a minted token may do, decided in one place: the running server's policy.
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import DownloadTokens
import Foundation
import GateCore

/// The protocol bits a new token carries and how its commands reach the certificate to trust. The server that
/// will check the token is the one whose policy counts, so `serve` writes its own into the run file and every
/// minting process (the server's API, a local `link mint`) reads it from there; only when no server runs does
/// a minting process fall back to its own configuration (and `link mint` says so).
struct LinkPolicy: Codable, Sendable, Equatable {
    /// `http.plain_links`: tokens also work over plain HTTP.
    var plainHTTP: Bool
    /// The FTP listener runs: tokens carry the FTPS bit and links an ftp:// address.
    var ftp: Bool
    /// `ftp.allow_plain`: tokens also work over plain FTP.
    var plainFTP: Bool
    /// SHA-256 (hex, of the file's bytes) of the certificate served at `/ca.crt`, when clients must fetch and
    /// pin it (the self-signed default); nil when `tls.certificate` is configured and presumably trusted.
    var caSHA256: String?

    enum CodingKeys: String, CodingKey {
        case plainHTTP = "plain_http"
        case ftp
        case plainFTP = "plain_ftp"
        case caSHA256 = "ca_sha256"
    }

    /// The policy these settings give (the server computes its own with this).
    static func of(_ settings: Settings) -> LinkPolicy {
        let ftpOn = settings.ftp.listen != nil
        return LinkPolicy(
            plainHTTP: settings.plainLinksEnabled, ftp: ftpOn, plainFTP: ftpOn && settings.ftp.allowPlain,
            caSHA256: settings.tlsCertificate.isEmpty ? CACertificate.read(settings)?.sha256 : nil)
    }

    /// The running server's policy from its run file, else this configuration's (`fromServer` false).
    static func effective(_ settings: Settings) -> (policy: LinkPolicy, fromServer: Bool) {
        if let run = RunFile.read(settings.runFile), let links = run.links { return (links, true) }
        return (of(settings), false)
    }

    var protocols: ProtocolSet {
        var p: ProtocolSet = [.http, .sftp]
        if plainHTTP { p.insert(.httpPlain) }
        if ftp { p.insert(.ftps) }
        if plainFTP { p.insert(.ftpPlain) }
        return p
    }
}

/// The certificate a client needs to trust this server's HTTPS and FTPS, served at `/ca.crt` (and its
/// SHA-256 at `/ca.sha256`) so the person who downloads can fetch it, check it against the digest printed in
/// their command, and pin it. With `tls.certificate` configured it is the last certificate of that chain file.
struct CACertificate: Sendable, Equatable {
    /// PEM text, exactly the bytes served.
    let pem: [UInt8]
    /// Lowercase hex SHA-256 of `pem`, as `sha256sum` prints it.
    let sha256: String

    /// The name the ready commands save it under.
    static let fileName = "imagegate-ca.crt"
    static let path = "/ca.crt"
    static let digestPath = "/ca.sha256"

    init(pem: [UInt8]) {
        self.pem = pem
        self.sha256 = Hex.encode(Crypto.sha256(pem))
    }

    /// Reads the certificate from disk (nil when it does not exist yet).
    static func read(_ settings: Settings) -> CACertificate? {
        guard let text = readTextFile(tlsCertificatePath(settings)) else { return nil }
        return fromChain(text)
    }

    /// The last PEM certificate block of a chain (a self-signed file holds exactly one).
    static func fromChain(_ text: String) -> CACertificate? {
        let begin = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        guard let start = text.range(of: begin, options: .backwards),
            let stop = text.range(of: end, range: start.upperBound..<text.endIndex)
        else { return nil }
        return CACertificate(pem: Array((String(text[start.lowerBound..<stop.upperBound]) + "\n").utf8))
    }
}
