//===----------------------------------------------------------------------===//
// ImageGate: the durable record of an import in progress (what to read from, how to resume).
//===----------------------------------------------------------------------===//
import GateCore

/// How an import whose format was not declared learns it from its first bytes (`ImageFormat.sniff` of the
/// first 64 KiB, the same rule as for a local file): `any` takes the kind from the bytes too (an ISO 9660
/// file is an ISO image); `selfMade` picks qcow2 or raw (an ISO 9660 file is then a raw disk).
public enum FormatDetection: String, Sendable {
    case any
    case selfMade = "self_made"

    /// The format bytes that sniff as `sniffed` are imported as.
    public func format(sniffed: ImageFormat) -> ImageFormat {
        self == .selfMade && sniffed == .iso ? .raw : sniffed
    }
}

/// One import in progress. Deleted (with its image row's lease) when the import ends.
public struct ImportJob: Sendable, Equatable {
    public enum Source: String, Sendable { case url, upload, vm }
    public var imageID: ImageID
    public var source: Source
    /// `SecretBox`-sealed source URL, hex; only the importer can open it.
    public var sealedURL: String?
    /// The URL as it may be shown: credentials replaced by `***`.
    public var displayURL: String?
    /// What the user said the bytes are (`qcow2`, `iso`, `raw`).
    public var declared: String
    public var expectedSHA256: String?
    public var encrypted: Bool
    public var totalSize: UInt64?
    public var validator: String?
    public var uploadID: String?
    public var expiresAt: Int64?
    public var createdAt: Int64
    /// Set when the format is left to the bytes; `declared` is then only a placeholder.
    public var detectFormat: FormatDetection?

    public init(
        imageID: ImageID, source: Source, sealedURL: String? = nil, displayURL: String? = nil, declared: String,
        expectedSHA256: String? = nil, encrypted: Bool = false, totalSize: UInt64? = nil, validator: String? = nil,
        uploadID: String? = nil, expiresAt: Int64? = nil, createdAt: Int64, detectFormat: FormatDetection? = nil
    ) {
        self.imageID = imageID
        self.source = source
        self.sealedURL = sealedURL
        self.displayURL = displayURL
        self.declared = declared
        self.expectedSHA256 = expectedSHA256
        self.encrypted = encrypted
        self.totalSize = totalSize
        self.validator = validator
        self.uploadID = uploadID
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.detectFormat = detectFormat
    }
}

extension ImportJob {
    /// A tus upload within its expiry: nobody holds it between two PATCHes, and its client resumes it on any
    /// node, so recovery and the import sweep leave it alone.
    public func isResumableUpload(now: Int64) -> Bool {
        source == .upload && uploadID != nil && (expiresAt ?? .max) >= now
    }
}
