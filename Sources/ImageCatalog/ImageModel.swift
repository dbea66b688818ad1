//===----------------------------------------------------------------------===//
// ImageGate: the catalog's value types (image records, statuses, formats, token issues).
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import GateCore

/// Lifecycle of an image row. Only `available` images are ever served.
///
/// `making` is a self-made image being made from a VM; `deleting`/`deleted` are the recycle bin.
/// Which transitions are legal is decided in one place: `ImageLifecycle` in ImageManagement.
public enum ImageStatus: String, Sendable, Codable, CaseIterable {
    case making, uploading, available, failed, deleting, deleted

    /// Statuses in which an import owns the row through a lease (see `CatalogStore.setLease`).
    public var isInProgress: Bool { self == .making || self == .uploading }
}

/// The on-disk format of an image's bytes.
public enum ImageFormat: String, Sendable, Codable, CaseIterable {
    case qcow2, iso, raw

    /// Extension of the download file name. Raw disks use `img`, the convention of cloud image sites.
    public var fileExtension: String {
        switch self {
        case .qcow2: "qcow2"
        case .iso: "iso"
        case .raw: "img"
        }
    }

    /// How many leading bytes `sniff` wants to see (ISO's primary volume descriptor sits at 0x8001).
    public static let sniffLength = 64 * 1024

    private static let qcow2Magic: [UInt8] = [0x51, 0x46, 0x49, 0xFB]  // "QFI\xFB"
    private static let isoMagic: [UInt8] = Array("CD001".utf8)
    private static let isoMagicOffset = 0x8001

    /// Minimal magic sniffing of the first 64 KiB (qcow2 "QFI\xFB" at 0; ISO "CD001" at 0x8001; else raw).
    /// Full inspection (Docs/protocols.md §4.3: header validation, banned formats) comes in a later issue.
    public static func sniff(_ head: [UInt8]) -> ImageFormat {
        if head.count >= qcow2Magic.count, head[0..<qcow2Magic.count].elementsEqual(qcow2Magic) {
            return .qcow2
        }
        let isoEnd = isoMagicOffset + isoMagic.count
        if head.count >= isoEnd, head[isoMagicOffset..<isoEnd].elementsEqual(isoMagic) {
            return .iso
        }
        return .raw
    }
}

/// Where an image came from: made from a VM or imported as a disk (`selfMade`), or an ISO installer.
public enum ImageKind: String, Sendable, Codable, CaseIterable {
    case selfMade = "self_made"
    case iso
}

/// One image in the catalog. A plain value: stores copy it in and out, nobody shares it.
public struct ImageRecord: Sendable, Equatable {
    public var id: ImageID
    public var tenant: TenantID
    public var name: String
    public var remarks: String
    /// Download file name: the sanitized name plus the format's extension (see `downloadFileName`).
    public var fileName: String
    public var format: ImageFormat
    public var size: UInt64
    /// Lower-case hex SHA-256 of the bytes; "" until the import has finished.
    public var sha256: String
    public var status: ImageStatus
    /// Bumped whenever the bytes a token refers to change or die (Docs/protocols.md §3.5); part of the ETag.
    public var generation: UInt32
    public var failureReason: String?
    public var createdAt: Int64
    public var updatedAt: Int64
    /// When the bytes became available; the source of `Last-Modified`.
    public var finalizedAt: Int64?

    // Descriptive fields a tenant sees in the image list (migration 2). Free text is validated by the
    // management layer; the store keeps whatever it is given.
    public var kind: ImageKind
    public var encrypted: Bool
    /// Any of "cloud-init", "qemu-ga", "hot-upgrade".
    public var features: [String]
    /// "Linux", "Windows", "Kylin", …
    public var systemType: String
    /// e.g. "CentOS 7.4 x86_64".
    public var osRelease: String
    public var platform: String
    public var osVersion: String
    /// "x86_64" or "aarch64".
    public var architecture: String
    /// "BIOS" or "UEFI".
    public var bootMode: String
    public var projectGroup: String
    public var tags: [String]
    public var virtualSize: UInt64
    /// Recycle bin: the status to go back to on restore (`available` or `failed`), and when it was deleted.
    public var statusBeforeDelete: ImageStatus?
    public var deletedAt: Int64?
    /// How many VMs were created from this image. Derived by the store from VM references on every read;
    /// ignored on write.
    public var vmCount: Int
    /// Import progress (bytes so far, total when known, bytes per second).
    public var progressBytes: UInt64
    public var progressTotal: UInt64?
    public var progressRate: Double?
    /// When `progressBytes` last grew (Unix seconds): a transfer with no new bytes for a while is stalled,
    /// and its last rate says nothing about the present.
    public var progressAt: Int64?

    public init(
        id: ImageID, tenant: TenantID, name: String, remarks: String = "", fileName: String, format: ImageFormat,
        size: UInt64 = 0, sha256: String = "", status: ImageStatus, generation: UInt32 = 0,
        failureReason: String? = nil, createdAt: Int64, updatedAt: Int64, finalizedAt: Int64? = nil,
        kind: ImageKind = .selfMade, encrypted: Bool = false, features: [String] = [], systemType: String = "",
        osRelease: String = "", platform: String = "", osVersion: String = "", architecture: String = "",
        bootMode: String = "", projectGroup: String = "", tags: [String] = [], virtualSize: UInt64 = 0,
        statusBeforeDelete: ImageStatus? = nil, deletedAt: Int64? = nil, vmCount: Int = 0,
        progressBytes: UInt64 = 0, progressTotal: UInt64? = nil, progressRate: Double? = nil,
        progressAt: Int64? = nil
    ) {
        self.id = id
        self.tenant = tenant
        self.name = name
        self.remarks = remarks
        self.fileName = fileName
        self.format = format
        self.size = size
        self.sha256 = sha256
        self.status = status
        self.generation = generation
        self.failureReason = failureReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finalizedAt = finalizedAt
        self.kind = kind
        self.encrypted = encrypted
        self.features = features
        self.systemType = systemType
        self.osRelease = osRelease
        self.platform = platform
        self.osVersion = osVersion
        self.architecture = architecture
        self.bootMode = bootMode
        self.projectGroup = projectGroup
        self.tags = tags
        self.virtualSize = virtualSize
        self.statusBeforeDelete = statusBeforeDelete
        self.deletedAt = deletedAt
        self.vmCount = vmCount
        self.progressBytes = progressBytes
        self.progressTotal = progressTotal
        self.progressRate = progressRate
        self.progressAt = progressAt
    }

    /// A fresh random resource id (16 bytes from the CSPRNG): ids are unguessable and never reused.
    public static func newID() -> ImageID {
        // 16 bytes always make an ID128; the force unwrap cannot fail.
        ImageID(ID128(bytes: Crypto.randomBytes(16))!)
    }
}

/// A record of one minted download token, kept so an operator can see and revoke what is outstanding.
public struct TokenIssue: Sendable, Equatable {
    public var serial: ID128
    public var image: ImageID
    public var tenant: TenantID
    public var issuedAt: Int64
    public var expiresAt: Int64
    /// Bit set of the protocols the token allows (defined by DownloadTokens).
    public var protocols: UInt16
    /// Who minted it (API key id, "cli", ...); free text for audit.
    public var minter: String
    /// The file name the link was minted with (the last segment of its URLs). It names the image for the
    /// link's whole life, whatever the image is renamed to meanwhile. nil for links minted before the
    /// catalog recorded it (migration 4).
    public var fileName: String?
    /// The mint options and the usage counters of the link (migration 8; LinkRecord.swift).
    public var options: LinkOptions
    /// When the link was revoked (nil: not revoked). Links revoked before migration 8 carry their issue time.
    public var revokedAt: Int64?
    public var usage: LinkUsage

    public init(
        serial: ID128, image: ImageID, tenant: TenantID, issuedAt: Int64, expiresAt: Int64, protocols: UInt16,
        minter: String, fileName: String? = nil, options: LinkOptions = LinkOptions(), revokedAt: Int64? = nil,
        usage: LinkUsage = LinkUsage()
    ) {
        self.serial = serial
        self.image = image
        self.tenant = tenant
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.protocols = protocols
        self.minter = minter
        self.fileName = fileName
        self.options = options
        self.revokedAt = revokedAt
        self.usage = usage
    }
}

/// Progress of one import, reported after every chunk.
public struct ImportProgress: Sendable, Equatable {
    public var bytes: UInt64
    /// Size of the source when known (a local regular file: its `st_size` at open).
    public var total: UInt64?
    public init(bytes: UInt64, total: UInt64?) {
        self.bytes = bytes
        self.total = total
    }
}
