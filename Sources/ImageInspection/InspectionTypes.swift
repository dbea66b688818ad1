//===----------------------------------------------------------------------===//
// ImageGate: the public vocabulary of image inspection (declared kinds, limits, results).
//===----------------------------------------------------------------------===//

/// What the user said the image is. The import pipeline accepts self-made QCOW2 disks, ISO installers and RAW disks;
/// the inspector checks that the bytes agree (Docs/protocols.md §4.3: "declared format must equal detected
/// format").
public enum DeclaredKind: String, Sendable, CaseIterable, Codable {
    case qcow2
    case iso
    case raw

    /// The spelling used in messages ("QCOW2", "ISO", "RAW").
    var label: String { rawValue.uppercased() }
}

/// Policy knobs for one inspection.
public struct InspectionLimits: Sendable, Equatable, Codable {
    /// Largest accepted virtual disk size in bytes (qcow2 `size`, ISO volume size, RAW byte size).
    /// Docs/protocols.md §4.2: a 1 MiB qcow2 can declare an 8 EiB disk that explodes later. Default 16 TiB.
    public var maxVirtualSize: UInt64 = 16 << 40
    /// True when the user declared an encrypted image: only then is a LUKS-encrypted qcow2 (`crypt_method` 2 with
    /// its full-disk-encryption header extension) accepted ("encryption only when declared").
    public var allowEncrypted = false

    public init() {}

    public init(maxVirtualSize: UInt64, allowEncrypted: Bool = false) {
        self.maxVirtualSize = maxVirtualSize
        self.allowEncrypted = allowEncrypted
    }
}

/// The verdict on an acceptable image.
public struct InspectionResult: Sendable, Equatable {
    /// The detected format; always equal to the declared kind.
    public let format: DeclaredKind
    /// Guest-visible size in bytes: qcow2 header `size`; ISO volume space size × logical block size (the file size
    /// for a UDF-only disc without an ISO 9660 primary volume descriptor); RAW byte size.
    public let virtualSize: UInt64
    /// True only for a qcow2 with `crypt_method` 2 (LUKS), which needs `InspectionLimits.allowEncrypted`.
    public let encrypted: Bool
    /// Facts worth recording, e.g. "qcow2 version 3", "cluster size 65536", "MBR partition table".
    public let notes: [String]

    public init(format: DeclaredKind, virtualSize: UInt64, encrypted: Bool, notes: [String]) {
        self.format = format
        self.virtualSize = virtualSize
        self.encrypted = encrypted
        self.notes = notes
    }
}
