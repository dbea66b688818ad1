//===----------------------------------------------------------------------===//
// ImageGate: a self-signed server certificate for the embedded default, and fingerprints.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import GateCore
import SystemIO

public enum Certificates {
    /// Returns `(certificate, key)` paths in `directory`, generating a self-signed P-256 certificate for
    /// `localhost` and `127.0.0.1` (valid 825 days, the browsers' maximum) when none exists. The key is 0600.
    public static func ensureSelfSigned(directory: String, hosts: [String] = ["localhost", "127.0.0.1", "::1"])
        throws(GateError) -> (certificate: String, key: String)
    {
        let cert = directory + "/server.crt"
        let key = directory + "/server.key"
        if (try? FileIO.checkAccess(cert, R_OK)) != nil && (try? FileIO.checkAccess(key, R_OK)) != nil {
            return (cert, key)
        }
        do {
            try FileIO.makeDirectory(directory, mode: 0o700)
        } catch  where error.errno != EEXIST {
            throw GateError.io("cannot create \(directory): \(error.reason)")
        } catch {}
        try generate(commonName: hosts.first ?? "localhost", hosts: hosts, days: 825, certPath: cert, keyPath: key)
        return (cert, key)
    }

    static func generate(commonName: String, hosts: [String], days: Int, certPath: String, keyPath: String)
        throws(GateError)
    {
        guard let pkey = COpenSSL_generate_p256() else { throw OpenSSLError.gate("generating a P-256 key") }
        defer { EVP_PKEY_free(pkey) }
        guard let x509 = X509_new() else { throw OpenSSLError.gate("X509_new") }
        defer { X509_free(x509) }
        X509_set_version(x509, 2)
        let serial = ASN1_INTEGER_new()
        defer { ASN1_INTEGER_free(serial) }
        var rnd: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &rnd) { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }
        ASN1_INTEGER_set_uint64(serial, rnd >> 1)
        X509_set_serialNumber(x509, serial)
        X509_gmtime_adj(X509_getm_notBefore(x509), -3600)
        X509_gmtime_adj(X509_getm_notAfter(x509), days * 86400)
        X509_set_pubkey(x509, pkey)
        let name = X509_get_subject_name(x509)
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, "ImageGate self-signed", -1, -1, 0)
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0)
        X509_set_issuer_name(x509, name)
        let san = hosts.map { h in
            h.contains(":") || h.allSatisfy({ $0.isNumber || $0 == "." }) ? "IP:\(h)" : "DNS:\(h)"
        }
        .joined(separator: ",")
        for (nid, value) in [
            (NID_subject_alt_name, san), (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_ext_key_usage, "serverAuth"),
        ] {
            guard let ext = X509V3_EXT_conf_nid(nil, nil, nid, value) else {
                throw OpenSSLError.gate("certificate extension \(value)")
            }
            X509_add_ext(x509, ext, -1)
            X509_EXTENSION_free(ext)
        }
        guard X509_sign(x509, pkey, EVP_sha256()) > 0 else { throw OpenSSLError.gate("signing the certificate") }
        // Key first, created 0600 before any byte is written; then the certificate.
        try writePEM(keyPath, mode: 0o600) { bio in PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) }
        try writePEM(certPath, mode: 0o644) { bio in PEM_write_bio_X509(bio, x509) }
    }

    /// Renders PEM into memory, then writes it with `AtomicFile` (temporary file created with `mode`, fsync,
    /// rename, fsync of the directory).
    private static func writePEM(_ path: String, mode: mode_t, _ body: (OpaquePointer) -> Int32) throws(GateError) {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.gate("BIO_new") }
        defer { BIO_free(bio) }
        guard body(bio) == 1 else { throw OpenSSLError.gate("writing \(path)") }
        var pem = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) }
            if n <= 0 { break }
            pem += chunk[0..<Int(n)]
        }
        do {
            try AtomicFile.write(pem, to: path, mode: mode)
        } catch {
            if error.step == .create { throw GateError.io("cannot create \(error.path): \(error.reason)") }
            throw OpenSSLError.gate("writing \(path)")
        }
    }

    /// `AB:CD:…` SHA-256 of the DER encoding.
    static func fingerprint(_ cert: OpaquePointer) -> String {
        var md = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        X509_digest(cert, EVP_sha256(), &md, &len)
        return md.prefix(Int(len)).map { b in
            let h = String(b, radix: 16, uppercase: true)
            return h.count == 1 ? "0" + h : h
        }.joined(separator: ":")
    }
}
