//===----------------------------------------------------------------------===//
// ImageGate: the git commit this binary was built from (`imagegate --version`, Docs/operations.md).
//===----------------------------------------------------------------------===//

/// "<12 hex digits>", "<12 hex digits>-dirty" or "unknown commit". `generatedCommit()` is written at build time
/// by the GitCommitStamp plugin. A new commit must recompile this module only, not the modules that import
/// it: so the text stays out of this module's interface. `generatedCommit()` is internal, and release builds'
/// cross-module optimization, which would copy this body and with it the text into BuildCommit.swiftmodule
/// (and so make every importer recompile), is switched off for this one function.
@_semantics("optimize.no.crossmodule")
public func buildCommit() -> String { generatedCommit() }
