//===----------------------------------------------------------------------===//
// ImageGate: the keyring and deployment id as files in one private directory (the embedded default).
//===----------------------------------------------------------------------===//
import GateCore

/// `token-keys.json` and `deployment-id` (0600) in a 0700 directory. Every write holds an exclusive `flock`
/// on the directory, so a CLI `key rotate` and a server creating the files on first start never interleave;
/// a version is the file's `stat` identity (device, inode, size, mtime), and the atomic replace gives every
/// new text a new inode.
public struct KeyFileStorage: KeyringStorage {
    public static let keyFileName = "token-keys.json"
    public static let deploymentIDFileName = "deployment-id"

    public let directory: String
    public var keyFilePath: String { directory + "/" + Self.keyFileName }
    public var deploymentIDPath: String { directory + "/" + Self.deploymentIDFileName }

    public init(directory: String) {
        self.directory = directory
    }

    public var keyringLocation: String { "key file \(keyFilePath)" }
    public var deploymentIDLocation: String { deploymentIDPath }

    /// Creates the directory (0700) if missing and tightens a loose one (Docs/protocols.md §3.6).
    public func preparePrivateDirectory() throws(GateError) {
        try KeyFiles.ensurePrivateDirectory(directory)
    }

    public func readKeyring(unlessVersion seen: KeyringVersion?) throws(GateError) -> KeyringRead {
        if let seen {
            guard let stamp = KeyFiles.stamp(keyFilePath) else { return .missing }
            if Self.version(stamp) == seen { return .unchanged }
        }
        guard let (bytes, stamp) = try KeyFiles.read(keyFilePath) else { return .missing }
        return .current(StoredKeyring(text: String(decoding: bytes, as: UTF8.self), version: Self.version(stamp)))
    }

    public func replaceKeyring(with text: String, expected: KeyringVersion?) throws(GateError)
        -> (stored: StoredKeyring, written: Bool)
    {
        try KeyFiles.withLock(directory: directory) { () throws(GateError) -> (stored: StoredKeyring, written: Bool) in
            let current = try KeyFiles.read(keyFilePath)
            switch (current, expected) {
            case (nil, .some):
                throw GateError.io("key file \(keyFilePath) disappeared")
            case (.some(let (bytes, stamp)), _) where Self.version(stamp) != expected:
                let text = String(decoding: bytes, as: UTF8.self)
                return (StoredKeyring(text: text, version: Self.version(stamp)), false)
            default:
                try KeyFiles.writeAtomically(directory: directory, name: Self.keyFileName, bytes: Array(text.utf8))
                guard let stamp = KeyFiles.stamp(keyFilePath) else {
                    throw GateError.io("key file \(keyFilePath) disappeared")
                }
                return (StoredKeyring(text: text, version: Self.version(stamp)), true)
            }
        }
    }

    public func deploymentID(orCreate fresh: String) throws(GateError) -> String {
        try KeyFiles.withLock(directory: directory) { () throws(GateError) -> String in
            if let (bytes, _) = try KeyFiles.read(deploymentIDPath) { return String(decoding: bytes, as: UTF8.self) }
            let text = fresh + "\n"
            try KeyFiles.writeAtomically(directory: directory, name: Self.deploymentIDFileName, bytes: Array(text.utf8))
            return text
        }
    }

    static func version(_ stamp: FileStamp) -> KeyringVersion {
        KeyringVersion(
            "\(stamp.device):\(stamp.inode):\(stamp.size):\(stamp.mtimeSeconds).\(stamp.mtimeNanoseconds)")
    }
}
