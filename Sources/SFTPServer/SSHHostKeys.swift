//===----------------------------------------------------------------------===//
// ImageGate: the SSH host keys: ed25519 and RSA 3072, made on first start, kept in <data_dir>/ssh (0600).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLibSSH
import GateCore
import SystemIO

/// One host key as clients see it.
public struct SSHHostKey: Sendable, Equatable {
    /// `ed25519` or `rsa`.
    public var kind: String
    /// The private key file (OpenSSH format, mode 0600).
    public var path: String
    /// `SHA256:<base64>`, the form `ssh` prints and `ssh-keygen -lf` shows.
    public var fingerprint: String
    /// `ssh-ed25519 AAAA…`: a `known_hosts` line without the host part.
    public var publicKey: String
}

public enum SSHHostKeys {
    /// File names as OpenSSH's sshd uses them.
    static let specs: [(kind: String, file: String, type: ssh_keytypes_e, bits: Int32)] = [
        ("ed25519", "ssh_host_ed25519_key", SSH_KEYTYPE_ED25519, 0),
        // RSA for old clients only; 3072 bits as ssh-keygen's default. Generation takes ~0.6 s (Docs/sftp-notes.md §2).
        ("rsa", "ssh_host_rsa_key", SSH_KEYTYPE_RSA, 3072),
    ]

    /// Loads the host keys from `directory`, generating any that are missing (directory mode 0700, files 0600).
    public static func loadOrCreate(directory: String) throws(GateError) -> [SSHHostKey] {
        do {
            try FileIO.makeDirectory(directory, mode: 0o700)
        } catch  where error.errno != EEXIST {
            throw GateError.io("cannot create \(directory): \(error.reason)")
        } catch {}
        var keys: [SSHHostKey] = []
        for spec in specs {
            let path = directory + "/" + spec.file
            var key: ssh_key?
            if FileIO.exists(path) {
                guard ssh_pki_import_privkey_file(path, nil, nil, nil, &key) == SSH_OK, key != nil else {
                    throw GateError.io("cannot read SSH host key \(path)")
                }
            } else {
                guard ssh_pki_generate(spec.type, spec.bits, &key) == SSH_OK, key != nil else {
                    throw GateError.internal("cannot generate an \(spec.kind) SSH host key")
                }
                do {
                    try write(key!, to: path)
                } catch {
                    ssh_key_free(key)
                    throw error
                }
            }
            defer { ssh_key_free(key) }
            keys.append(try describe(key!, kind: spec.kind, path: path))
        }
        return keys
    }

    /// Writes the key in OpenSSH format (`writePrivateKeyText`).
    static func write(_ key: ssh_key, to path: String) throws(GateError) {
        try writePrivateKeyText(try privateKeyText(key), to: path)
    }

    static func privateKeyText(_ key: ssh_key) throws(GateError) -> String {
        var b64: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_privkey_base64(key, nil, nil, nil, &b64) == SSH_OK, let b64 else {
            throw GateError.internal("cannot encode SSH host key")
        }
        defer { ssh_string_free_char(b64) }
        return String(cString: b64)
    }

    /// The kinds of host key the server offers and their file names in the host key directory.
    public static var kinds: [(kind: String, file: String)] { specs.map { ($0.kind, $0.file) } }

    /// A new private key of `kind` as OpenSSH private key text, for nodes that share their host keys through
    /// the catalog (the text is what `writePrivateKeyText` puts in the file).
    public static func generatePrivateKeyText(kind: String) throws(GateError) -> String {
        guard let spec = specs.first(where: { $0.kind == kind }) else {
            throw GateError.internal("no SSH host key kind \(kind)")
        }
        var key: ssh_key?
        guard ssh_pki_generate(spec.type, spec.bits, &key) == SSH_OK, let key else {
            throw GateError.internal("cannot generate an \(spec.kind) SSH host key")
        }
        defer { ssh_key_free(key) }
        return try privateKeyText(key)
    }

    /// Whether `text` is an OpenSSH private key libssh can load (checked before a node shares its own file).
    public static func isValidPrivateKeyText(_ text: String) -> Bool {
        var key: ssh_key?
        guard ssh_pki_import_privkey_base64(text, nil, nil, nil, &key) == SSH_OK, let key else { return false }
        ssh_key_free(key)
        return true
    }

    /// Writes private key text to `path` with `AtomicFile`: created 0600 with O_EXCL under a temporary name of
    /// its own and renamed into place, so a reader never sees a partial or world-readable key (libssh's own
    /// `ssh_pki_export_privkey_file` creates 0644: Docs/sftp-notes.md §2), and a server and a CLI command
    /// writing the same key at once never touch each other's half-written file.
    public static func writePrivateKeyText(_ text: String, to path: String) throws(GateError) {
        do {
            try AtomicFile.write(Array(text.utf8), to: path, mode: 0o600)
        } catch {
            switch error.step {
            case .create: throw GateError.io("cannot create \(error.path): \(error.reason)")
            case .write: throw GateError.io("cannot write \(error.path)")
            case .sync, .place, .syncDirectory: throw GateError.io("cannot write \(path)")
            }
        }
    }

    static func describe(_ key: ssh_key, kind: String, path: String) throws(GateError) -> SSHHostKey {
        var pub: ssh_key?
        guard ssh_pki_export_privkey_to_pubkey(key, &pub) == SSH_OK, let pub else {
            throw GateError.internal("cannot derive SSH public key")
        }
        defer { ssh_key_free(pub) }
        var hash: UnsafeMutablePointer<UInt8>?
        var hashLen = 0
        guard ssh_get_publickey_hash(pub, SSH_PUBLICKEY_HASH_SHA256, &hash, &hashLen) == SSH_OK, let hash else {
            throw GateError.internal("cannot hash SSH public key")
        }
        var hashPtr: UnsafeMutablePointer<UInt8>? = hash
        defer { ssh_clean_pubkey_hash(&hashPtr) }
        guard let fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hashLen) else {
            throw GateError.internal("cannot format SSH fingerprint")
        }
        defer { ssh_string_free_char(fp) }
        var b64: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_pubkey_base64(pub, &b64) == SSH_OK, let b64 else {
            throw GateError.internal("cannot encode SSH public key")
        }
        defer { ssh_string_free_char(b64) }
        let typeName = ssh_key_type_to_char(ssh_key_type(pub)).map { String(cString: $0) } ?? kind
        return SSHHostKey(
            kind: kind, path: path, fingerprint: String(cString: fp), publicKey: "\(typeName) \(String(cString: b64))")
    }
}
