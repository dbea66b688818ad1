//===----------------------------------------------------------------------===//
// ImageGate: a build-tool plugin that names the git commit the binary is built from (Docs/operations.md).
//===----------------------------------------------------------------------===//
import Foundation
import PackagePlugin

/// Adds one generated Swift file to the target it is applied to (BuildCommit): `generatedCommit()` returns
/// the checkout's commit, `-dirty` when the sources differ from it, or "unknown commit" outside a checkout.
///
/// A build command (not a prebuild command: SwiftPM 6.3 runs those only when it re-reads the manifest) whose
/// inputs are what moves when the answer can change: git's HEAD, its reflog, the branch refs, the index, and
/// every source file of the package. llbuild runs it only when one of them changed, and
/// `scripts/build-commit.sh` (plain /bin/sh and /usr/bin/git: nothing built from source) rewrites the file only
/// when the answer differs, so an ordinary build runs nothing and a new commit recompiles one small function.
@main
struct GitCommitStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let package = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appending(path: "GeneratedCommit.swift")
        var inputs = [package.appending(path: "Package.swift"), package.appending(path: "scripts/build-commit.sh")]
        for t in context.package.targets {
            if let files = t.sourceModule?.sourceFiles { inputs += files.map(\.url) }
        }
        if let git = GitDirectories(checkout: package) {
            inputs += [
                git.worktree.appending(path: "HEAD"), git.worktree.appending(path: "logs/HEAD"),
                git.worktree.appending(path: "index"), git.common.appending(path: "refs/heads"),
            ]
            // A repository whose refs were never packed has no packed-refs file, and llbuild refuses a build
            // whose declared input is missing ("missing inputs").
            let packed = git.common.appending(path: "packed-refs")
            if FileManager.default.fileExists(atPath: packed.path) { inputs.append(packed) }
        }
        return [
            .buildCommand(
                displayName: "Naming the git commit of \(target.name)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [package.appending(path: "scripts/build-commit.sh").path, output.path, package.path],
                inputFiles: inputs,
                outputFiles: [output])
        ]
    }
}

/// Where git keeps this checkout's HEAD and index (`.git`, or for a `git worktree` the directory its `.git`
/// file names) and the refs shared by all worktrees (that directory's `commondir`). Read from the files,
/// so planning the build runs no git command; nil outside a checkout (a source tarball).
struct GitDirectories {
    let worktree: URL
    let common: URL

    init?(checkout: URL) {
        let dotGit = checkout.appending(path: ".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue {
            worktree = dotGit
        } else {
            guard let text = try? String(contentsOf: dotGit, encoding: .utf8),
                let line = text.split(separator: "\n").first, line.hasPrefix("gitdir: ")
            else { return nil }
            let path = String(line.dropFirst("gitdir: ".count))
            worktree = path.hasPrefix("/") ? URL(fileURLWithPath: path) : checkout.appending(path: path)
        }
        if let text = try? String(contentsOf: worktree.appending(path: "commondir"), encoding: .utf8) {
            let path = text.trimmingCharacters(in: .whitespacesAndNewlines)
            common = path.hasPrefix("/") ? URL(fileURLWithPath: path) : worktree.appending(path: path)
        } else {
            common = worktree
        }
    }
}
