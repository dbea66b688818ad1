//===----------------------------------------------------------------------===//
// ImageGate: the server's TLS context (HTTPS and FTPS): configured files, or a generated self-signed pair.
//===----------------------------------------------------------------------===//
import GateCore
import TLSSupport

/// Loads `tls.certificate`/`tls.private_key`, or generates (once) and loads a self-signed certificate in
/// `<data_dir>/tls`. Called at start-up and on SIGHUP.
func loadTLSContext(_ settings: Settings) throws(GateError) -> TLSContext {
    if !settings.tlsCertificate.isEmpty {
        return try TLSContext.server(certificateChain: settings.tlsCertificate, privateKey: settings.tlsPrivateKey)
    }
    let pair = try Certificates.ensureSelfSigned(directory: settings.tlsDir)
    return try TLSContext.server(certificateChain: pair.certificate, privateKey: pair.key)
}
