//===----------------------------------------------------------------------===//
// ImageGate: processes opening one SQLite catalog take turns while they create, convert and migrate it.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import ImageCatalog
import SystemIO

extension SQLiteCatalogStore {
    /// Runs `body` (the start-up guards, `open`, the integrity check) holding an exclusive `flock` on the
    /// catalog's directory, so processes that open one catalog file at the same moment (a node and a CLI on a
    /// new data directory; several nodes on one `sqlite:///` file) take turns. Without it a second process
    /// could find the file the first had just created still empty next to its WAL (and refuse it as a lost
    /// catalog), or ask for WAL mode while the first was switching it, which SQLite answers with SQLITE_BUSY
    /// at once instead of waiting. A SQLite catalog is shared only on one host (Docs/deployment.md), where
    /// `flock` holds; the lock goes with the descriptor, so a process killed meanwhile never leaves it taken.
    public static func withOpeningLock<T>(path: String, _ body: () throws(GateError) -> T) throws(GateError) -> T {
        let parent = FileSystem.parentDirectory(of: path)
        try FileSystem.makeDirectories(parent)
        let fd: Int32
        do {
            fd = try FileIO.lockDirectory(parent)
        } catch {
            let what = error.call == "open" ? "cannot open" : "cannot lock"
            throw FileSystem.error("\(what) the catalog's directory \(parent)", errno: error.errno)
        }
        defer { Sys.close(fd) }
        return try body()
    }
}
