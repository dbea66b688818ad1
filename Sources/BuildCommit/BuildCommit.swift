//===----------------------------------------------------------------------===//
// ImageGate: the git commit this binary was built from (`imagegate --version`, Docs/operations.md).
//===----------------------------------------------------------------------===//

/// "<12 hex digits>", "<12 hex digits>-dirty" or "unknown commit". `generatedCommit()` is written at build time
/// by the GitCommitStamp plugin; it stays internal so a new commit recompiles this module only, not the
/// modules that import it (their view of this module does not change).
public func buildCommit() -> String { generatedCommit() }
