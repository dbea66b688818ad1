//===----------------------------------------------------------------------===//
// ImageGate: the server TLS context for every TLS listener, from tls.* or a generated self-signed pair.
//===----------------------------------------------------------------------===//
import GateCore
import TLSSupport

/// Where the self-signed pair lives when `tls.certificate` is empty.
func selfSignedTLSDirectory(_ settings: Settings) -> String { settings.dataDir + "/tls" }

/// The certificate clients must trust: the configured chain, or the self-signed one (`<data_dir>/tls/server.crt`).
func tlsCertificatePath(_ settings: Settings) -> String {
    settings.tlsCertificate.isEmpty ? selfSignedTLSDirectory(settings) + "/server.crt" : settings.tlsCertificate
}

/// Loads `tls.certificate` + `tls.private_key`, or creates (once) and loads a self-signed certificate for
/// localhost and 127.0.0.1 in `<data_dir>/tls/`.
/// - Throws: `GateError.usage` if only one of the two settings is given; `.io` if the files cannot be used.
func loadTLSContext(_ settings: Settings) throws(GateError) -> TLSContext {
    if settings.tlsCertificate.isEmpty != settings.tlsPrivateKey.isEmpty {
        throw GateError.usage("tls.certificate and tls.private_key must be set together")
    }
    if !settings.tlsCertificate.isEmpty {
        return try TLSContext.server(certificateChain: settings.tlsCertificate, privateKey: settings.tlsPrivateKey)
    }
    try DataDirectory.makeDirectories(settings.dataDir)
    let pair = try Certificates.ensureSelfSigned(directory: selfSignedTLSDirectory(settings))
    return try TLSContext.server(certificateChain: pair.certificate, privateKey: pair.key)
}
