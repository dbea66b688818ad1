//===----------------------------------------------------------------------===//
// ImageGate: where image bytes live: `blobs.url` (Docs/architecture.md "Blob storage").
//===----------------------------------------------------------------------===//
import GateCore

extension Settings {
    /// The directory holding `blobs/`, `staging/` and `quarantine/`: `blobs.url = file:///ABS/PATH`, or the
    /// data directory (the default). Staging lives under the same root as the blobs, so finalizing an import
    /// is a rename within one file system even when that root is a shared mount and the data directory is not.
    var blobRoot: String { blobsURL.isEmpty ? dataDir : String(blobsURL.dropFirst("file://".count)) }
    /// Finished blobs (what /readyz checks).
    var blobDirectory: String { blobRoot + "/blobs" }

    /// `blobs.url` as given: empty, or `file:///ABSOLUTE/PATH` (a directory; several nodes may share it).
    static func parseBlobsURL(_ url: String) throws(GateError) -> String {
        if url.isEmpty { return url }
        guard url.hasPrefix("file://") else {
            throw GateError.usage("blobs.url: expected file:///ABSOLUTE/PATH (a directory; empty = the data directory)")
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
}

extension SettingKey {
    static let blobs: [SettingKey] = [
        SettingKey(
            name: "blobs.url", defaultText: "",
            help: "Empty: blobs under the data directory. file:///PATH: a directory (shared by several nodes, e.g. "
                + "NFS or CephFS) holding blobs/, staging/ and quarantine/ (Docs/architecture.md)."
        ) { s, v throws(GateError) in s.blobsURL = try Settings.parseBlobsURL(v) },
    ]
}
