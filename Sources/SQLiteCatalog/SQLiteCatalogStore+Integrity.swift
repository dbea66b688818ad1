//===----------------------------------------------------------------------===//
// ImageGate: start-up questions about the catalog file itself (is it sound, does it hold anything).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension SQLiteCatalogStore {
    /// SQLite's `PRAGMA quick_check`: the structure of every table and index b-tree (page formats, cell
    /// order, free list), without comparing index contents to their tables. Returns SQLite's findings (at
    /// most `limit` lines); empty means "ok". It reads every page, so its time grows with the catalog.
    public func quickCheck(limit: Int = 10) throws(GateError) -> [String] {
        try withConnection { db throws(GateError) -> [String] in
            let stmt = try db.prepare("PRAGMA quick_check")
            var found: [String] = []
            do throws(GateError) {
                // One row may hold several findings, one per line.
                while try stmt.step(), found.count < limit {
                    found += stmt.string(0).split(separator: "\n").map(String.init)
                }
            } catch {
                // A page too damaged to walk stops the check itself; that is a finding too.
                found.append(error.message)
            }
            return found == ["ok"] ? [] : Array(found.filter { $0 != "*** in database main ***" }.prefix(limit))
        }
    }

    /// How many image rows and minted-link records the catalog holds: if either is non-zero, the token keys
    /// and deployment id that signed those links must not be silently replaced.
    public func imageAndLinkCounts() throws(GateError) -> (images: Int, links: Int) {
        try withConnection { db throws(GateError) -> (images: Int, links: Int) in
            let images = try db.prepare("SELECT count(*) FROM images")
            _ = try images.step()
            let links = try db.prepare("SELECT count(*) FROM token_issues")
            _ = try links.step()
            return (Int(images.int64(0)), Int(links.int64(0)))
        }
    }
}
