//===----------------------------------------------------------------------===//
// ImageGate: which commit this binary was built from (`imagegate --version`, Docs/operations.md).
//===----------------------------------------------------------------------===//
import BuildCommit

enum BuildInfo {
    /// Embedded by every `swift build` in a git checkout (the GitCommitStamp plugin); "unknown commit" otherwise.
    static let commit = buildCommit()
}
