//===----------------------------------------------------------------------===//
// ImageGate: the one file a download session shows, the same for the FTP and SFTP fronts.
//===----------------------------------------------------------------------===//

/// The single entry of a session's view: `/<name>`. The bytes come from `open()` (the blob store's reader),
/// so a front never sees where or how the blob is stored.
public struct ServedFile: Sendable, Equatable {
    /// The visible name (`centos-7.qcow2`), as the link was minted; the view's only listed entry.
    public var name: String
    /// Other names the file answers to (the image's current name after a rename). Never listed.
    public var otherNames: [String]
    public var size: UInt64
    /// Unix seconds of the last change (MDTM, MLSD `modify=`, LIST date, SFTP attributes).
    public var modified: Int64
    /// What the token allows; the application re-checks it during the session (`stillValid`).
    public var grant: DownloadGrant
    /// Opens the bytes: called at each FTP RETR and once per SFTP session.
    public var open: @Sendable () throws(GateError) -> any BlobReader

    public init(
        name: String, otherNames: [String] = [], size: UInt64, modified: Int64, grant: DownloadGrant,
        open: @escaping @Sendable () throws(GateError) -> any BlobReader
    ) {
        self.name = name
        self.otherNames = otherNames
        self.size = size
        self.modified = modified
        self.grant = grant
        self.open = open
    }

    /// A log-safe label of the token (`igt1.<kid>.<serial prefix>…`).
    public var logID: String { grant.logID }

    /// Same name, size, date and grant (the opener is not compared: it reads the grant's version).
    public static func == (a: ServedFile, b: ServedFile) -> Bool {
        a.name == b.name && a.otherNames == b.otherNames && a.size == b.size && a.modified == b.modified
            && a.grant == b.grant
    }
}
