//===----------------------------------------------------------------------===//
// ImageGate: which commit this binary was built from (`imagegate --version`, Docs/operations.md).
//===----------------------------------------------------------------------===//
import CLinuxShims

enum BuildInfo {
    /// Set by `scripts/build-flags.sh` (release builds, the package); "unknown commit" in a plain `swift build`.
    static let commit = String(cString: CLinuxShims_build_commit())
}
