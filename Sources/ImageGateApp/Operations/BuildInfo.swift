//===----------------------------------------------------------------------===//
// ImageGate: which commit this binary was built from (`imagegate --version`, Docs/operations.md).
//===----------------------------------------------------------------------===//
import BuildCommit

enum BuildInfo {
    /// The release (`imagegate --version`, the `imagegate_build_info` metric).
    static let version = "0.1.0"
    /// Embedded by every `swift build` in a git checkout (the GitCommitStamp plugin); "unknown commit" otherwise.
    static let commit = buildCommit()
}
