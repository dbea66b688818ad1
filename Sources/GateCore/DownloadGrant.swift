//===----------------------------------------------------------------------===//
// ImageGate: what a verified download token allows, in one typed value shared by HTTP, FTP and SFTP.
//===----------------------------------------------------------------------===//
import Synchronization

/// A verified token checked against the catalog: which image version it opens, for whom, under which key,
/// until when. Made once per verification and shared (a class: a response or session holds a reference, not
/// a copy). Fronts never parse it; the application re-checks it (`stillValid`) and audits with it.
///
/// Equality and hashing are by (serial, image, generation, tenant): the requests of one link on one connection
/// are one download session (Docs/protocols.md §7.3), whichever verification produced them.
public final class DownloadGrant: Sendable, Hashable, CustomStringConvertible {
    public let image: ImageID
    public let generation: UInt32
    public let tenant: TenantID
    /// The token's serial (revocation and the per-token session cap go by it).
    public let serial: ID128
    /// The signing key id (`kid`): removing or retiring that key ends sessions opened with it.
    public let keyID: UInt32
    /// Unix seconds (the token's `exp`).
    public let expiresAt: Int64
    /// The token's protocol bits (`DownloadTokens.ProtocolSet.rawValue`).
    public let protocols: UInt16
    /// The name the link was minted with (its URL's last segment), and other names the file answers to (the
    /// image's current name after a rename). Never listed: only `fileName` is.
    public let fileName: String
    public let otherNames: [String]
    /// A log-safe label of the token (`igt1.<kid>.<serial prefix>…`): never the token itself.
    public let logID: String
    /// Unix seconds of the last time the catalog confirmed this grant (login, then every revalidation that
    /// got an answer). A revalidation that cannot reach the catalog relies on it (Docs/tokens.md, "Sessions").
    public let confirmedAt: Atomic<Int64>

    public init(
        image: ImageID, generation: UInt32, tenant: TenantID, serial: ID128, keyID: UInt32, expiresAt: Int64,
        protocols: UInt16, fileName: String, otherNames: [String] = [], logID: String, confirmedAt: Int64
    ) {
        self.image = image
        self.generation = generation
        self.tenant = tenant
        self.serial = serial
        self.keyID = keyID
        self.expiresAt = expiresAt
        self.protocols = protocols
        self.fileName = fileName
        self.otherNames = otherNames
        self.logID = logID
        self.confirmedAt = Atomic(confirmedAt)
    }

    public var version: BlobVersion { BlobVersion(image: image, generation: generation) }

    public static func == (a: DownloadGrant, b: DownloadGrant) -> Bool {
        a === b
            || (a.serial == b.serial && a.image == b.image && a.generation == b.generation && a.tenant == b.tenant)
    }

    public func hash(into h: inout Hasher) {
        h.combine(serial)
        h.combine(image)
    }

    /// For logs: the token label and the image version, never a secret.
    public var description: String { "\(logID) \(image)@\(generation)" }
}
