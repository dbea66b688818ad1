//===----------------------------------------------------------------------===//
// ImageGate: the one word for a blob check's result, shared by `verify` (CLI/) and serve's blob scrubber
// (Serve/), so it lives below both.
//===----------------------------------------------------------------------===//
import ImageManagement

extension BlobCheck {
    /// The one-word result used in the JSON output and the log.
    var label: String {
        switch self {
        case .intact: "intact"
        case .missing: "missing"
        case .wrongSize: "wrong_size"
        case .wrongDigest: "wrong_digest"
        case .unreadable: "unreadable"
        case .superseded: "superseded"
        case .interrupted: "interrupted"
        }
    }
}
