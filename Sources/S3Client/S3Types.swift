//===----------------------------------------------------------------------===//
// ImageGate: the values S3Client calls take and return.
//===----------------------------------------------------------------------===//

/// The store operations, named as in the S3 API reference; the request hook and the debug log use them.
public enum S3Operation: String, Sendable, CaseIterable {
    case putObject = "PutObject"
    case getObject = "GetObject"
    case headObject = "HeadObject"
    case deleteObject = "DeleteObject"
    case listObjectsV2 = "ListObjectsV2"
    case createMultipartUpload = "CreateMultipartUpload"
    case uploadPart = "UploadPart"
    case completeMultipartUpload = "CompleteMultipartUpload"
    case abortMultipartUpload = "AbortMultipartUpload"
    case listMultipartUploads = "ListMultipartUploads"
    case headBucket = "HeadBucket"
    case copyObject = "CopyObject"
}

/// One finished store request, handed to `S3Client.Configuration.onRequest` (to count requests by operation
/// and outcome) whether it succeeded or not.
public struct S3RequestRecord: Sendable {
    public let operation: S3Operation
    /// The HTTP status, nil when no response arrived.
    public let status: Int?
    /// nil on success.
    public let errorKind: S3Error.Kind?
    public let bytesSent: UInt64
    public let bytesReceived: UInt64
    public let durationNanoseconds: UInt64
}

/// `bytes=first-last` (both inclusive, RFC 9110 §14.1.2) or `bytes=first-` (to the end).
public struct S3ByteRange: Sendable, Equatable, CustomStringConvertible {
    public let first: UInt64
    public let last: UInt64?

    public init(first: UInt64, last: UInt64? = nil) {
        precondition(last.map { $0 >= first } ?? true, "a byte range ends before it starts")
        self.first = first
        self.last = last
    }

    /// `length` bytes from `offset`.
    public init(offset: UInt64, length: UInt64) {
        precondition(length > 0, "an empty byte range cannot be asked for")
        self.init(first: offset, last: offset + length - 1)
    }

    public var headerValue: String { "bytes=\(first)-" + (last.map(String.init) ?? "") }
    public var description: String { headerValue }
}

/// What HEAD or GET tells about an object.
public struct S3ObjectInfo: Sendable, Equatable {
    /// The whole object's size (from Content-Range on a ranged GET).
    public let size: UInt64
    /// The ETag as the store sent it, quotes included.
    public let etag: String
    public let lastModified: String?
    public let contentType: String?
}

/// The result of a GET streamed into a sink, a descriptor or memory.
public struct S3GetResult: Sendable, Equatable {
    public let info: S3ObjectInfo
    /// Bytes of the body delivered (the range's length, or the object's size).
    public let bytesDelivered: UInt64
}

/// One entry of a ListObjectsV2 page.
public struct S3ObjectSummary: Sendable, Equatable {
    public let key: String
    public let size: UInt64
    public let etag: String?
    public let lastModified: String?
}

public struct S3ListPage: Sendable, Equatable {
    public let objects: [S3ObjectSummary]
    public let isTruncated: Bool
    /// Pass it back as `continuationToken` for the next page (set when `isTruncated`).
    public let nextContinuationToken: String?
}

/// A part for CompleteMultipartUpload: its number (1…10000) and the ETag UploadPart returned.
public struct S3CompletedPart: Sendable, Equatable, Codable {
    public let partNumber: Int
    public let etag: String

    public init(partNumber: Int, etag: String) {
        self.partNumber = partNumber
        self.etag = etag
    }
}

/// One multipart upload the store still holds (begun and neither completed nor aborted).
public struct S3MultipartUpload: Sendable, Equatable {
    public let key: String
    public let uploadID: String
    public let initiated: String?
}

public struct S3UploadsPage: Sendable, Equatable {
    public let uploads: [S3MultipartUpload]
    public let isTruncated: Bool
    public let nextKeyMarker: String?
    public let nextUploadIDMarker: String?
}
