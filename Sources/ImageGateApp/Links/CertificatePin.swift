//===----------------------------------------------------------------------===//
// ImageGate: ready HTTPS download commands, and the step every TLS command starts with when the server's
// certificate is its own (self-signed): fetch /ca.crt, check its SHA-256, then trust only that file.
//===----------------------------------------------------------------------===//

/// Where the downloader gets the certificate and the digest it must have. The digest travels with the link
/// (minted from the server's own run-file policy), so a certificate swapped on the way fails `sha256sum -c`.
struct CertificatePin: Sendable, Equatable {
    /// `http://host:port/ca.crt`.
    let url: String
    let sha256: String

    var file: String { CACertificate.fileName }

    /// `… && ` that leaves a checked `imagegate-ca.crt` in the current directory, with curl or wget.
    func fetch(with client: String) -> String {
        let get =
            client == "wget"
            ? "wget -qO \(file) \(FTPLinks.shellQuote(url))" : "curl -fsSo \(file) \(FTPLinks.shellQuote(url))"
        return "\(get) && echo '\(sha256)  \(file)' | sha256sum -c --quiet && "
    }
}

enum HTTPSLinks {
    /// wget, curl and aria2c over HTTPS, each resuming a partial file when run again; with a pin they trust
    /// only the fetched certificate, without one the system's CAs (a configured, publicly issued certificate).
    static func commands(url: String, pin: CertificatePin?) -> [(String, String)] {
        let u = FTPLinks.shellQuote(url)
        guard let pin else {
            return [
                ("https_wget", "wget -c \(u)"),
                ("https_curl", "curl -fC - -O \(u)"),
                ("https_aria2c", "aria2c -c -x4 \(u)"),
            ]
        }
        return [
            ("https_wget", pin.fetch(with: "wget") + "wget -c --ca-certificate=\(pin.file) \(u)"),
            ("https_curl", pin.fetch(with: "curl") + "curl -fC - --cacert \(pin.file) -O \(u)"),
            ("https_aria2c", pin.fetch(with: "curl") + "aria2c -c -x4 --ca-certificate=\(pin.file) \(u)"),
        ]
    }
}
