//===----------------------------------------------------------------------===//
// ImageGate: where image bytes live: `blobs.*` (Docs/architecture.md "Blob storage", Docs/object-storage.md).
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import S3Client

/// The object-store settings (`blobs.credentials_file`, `blobs.ca_file`, `blobs.timeout`, `blobs.part_size`);
/// used only when `blobs.url` is `s3://…`.
struct ObjectStoreSettings: Sendable {
    /// AWS-style credentials file (mode 0600 or stricter); empty: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`.
    var credentialsFile = ""
    /// PEM CA file for an https endpoint; empty: the system's CAs.
    var caFile = ""
    /// Seconds without an answer from the store before a request fails.
    var timeoutSeconds: Int64 = 10
    /// Bytes per multipart-upload part: a multiple of `cache.slice_bytes` (10,000 parts make the largest image).
    var partBytes: UInt64 = 64 << 20
}

extension Settings {
    /// The directory holding `blobs/`, `staging/` and `quarantine/`: `blobs.url = file:///ABS/PATH`, or the
    /// data directory (the default). Staging lives under the same root as the blobs, so finalizing an import
    /// is a rename within one file system even when that root is a shared mount and the data directory is not.
    /// With an object store (`s3://`) there is no blob directory: this is the data directory.
    var blobRoot: String {
        blobsURL.isEmpty || isObjectStore ? dataDir : String(blobsURL.dropFirst("file://".count))
    }
    /// Finished blobs (what /readyz checks for a local store).
    var blobDirectory: String { blobRoot + "/blobs" }
    /// `blobs.url = s3://…`.
    var isObjectStore: Bool { blobsURL.hasPrefix("s3://") }

    /// `blobs.url` as given: empty, `file:///ABSOLUTE/PATH` (a directory; several nodes may share it), or
    /// `s3://BUCKET/PREFIX?endpoint=…&region=…&path_style=…` (checked by `S3Location`).
    static func parseBlobsURL(_ url: String) throws(GateError) -> String {
        if url.isEmpty { return url }
        if url.hasPrefix("s3://") {
            do {
                return try S3Location(url).description
            } catch {
                throw GateError.usage("blobs.url: \(error.message)")
            }
        }
        guard url.hasPrefix("file://") else {
            throw GateError.usage(
                "blobs.url: expected file:///ABSOLUTE/PATH (a directory; empty = the data directory) or "
                    + "s3://BUCKET/PREFIX?endpoint=…")
        }
        let path = String(url.dropFirst("file://".count))
        guard path.hasPrefix("/"), path.count > 1, !path.contains("/../"), !path.hasSuffix("/..") else {
            throw GateError.usage("blobs.url: a blob directory is file:///ABSOLUTE/PATH")
        }
        // One spelling of the root: no trailing slash (staging and blob paths are built by appending).
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        return "file://" + trimmed
    }

    /// A part size S3 accepts (5 MiB to 5 GiB) made of whole slices (checked when the store is opened: the
    /// slice size is another key, `cache.slice_bytes`).
    static func checkPartSize(_ part: UInt64) throws(GateError) -> UInt64 {
        guard part >= 5 << 20, part <= 5 << 30 else {
            throw GateError.usage("blobs.part_size: S3 parts are 5MiB to 5GiB")
        }
        return part
    }
}

extension SettingKey {
    static let blobs: [SettingKey] = [
        SettingKey(
            name: "blobs.url", defaultText: "",
            help: "Empty: blobs under the data directory. file:///PATH: a directory (shared by several nodes, e.g. "
                + "NFS or CephFS) holding blobs/, staging/ and quarantine/ (Docs/architecture.md). "
                + "s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=true: an S3-compatible bucket "
                + "(Docs/object-storage.md)."
        ) { s, v throws(GateError) in s.blobsURL = try Settings.parseBlobsURL(v) },
        SettingKey(
            name: "blobs.credentials_file", defaultText: "",
            help: "Object store credentials ([default] aws_access_key_id/aws_secret_access_key, mode 0600). "
                + "Empty: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment."
        ) { s, v throws(GateError) in s.objectStore.credentialsFile = v },
        SettingKey(
            name: "blobs.ca_file", defaultText: "",
            help: "PEM CA certificates for an https object store endpoint (empty: the system's CAs)."
        ) { s, v throws(GateError) in s.objectStore.caFile = v },
        SettingKey(
            name: "blobs.timeout", defaultText: "10s",
            help: "An object store request with no byte moving for this long fails (imports fail with the reason; "
                + "downloads answer 503)."
        ) { s, v throws(GateError) in
            let t = try duration(v, "blobs.timeout")
            guard t >= 1 else { throw GateError.usage("blobs.timeout: at least 1s") }
            s.objectStore.timeoutSeconds = t
            // A parked HTTP response waits this long for the store before it answers 503 (or is cut).
            s.http.storeTimeoutMs = t * 1000
        },
        SettingKey(
            name: "blobs.part_size", defaultText: "64MiB",
            help: "Multipart upload part size of imports into an object store: a multiple of cache.slice_bytes; "
                + "the largest image is 10000 parts."
        ) { s, v throws(GateError) in
            s.objectStore.partBytes = try Settings.checkPartSize(try bytes(v, "blobs.part_size"))
        },
    ]
}
