//===----------------------------------------------------------------------===//
// ImageGate: the `progress` object of an image that is uploading or making, with rate and ETA that age out.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog

/// A transfer writes progress only while bytes arrive, so the catalog's rate is the rate of the last
/// bytes, however long ago they came. Read at `now`, a transfer with no new bytes for `stalledAfter`
/// seconds is *stalled*: `rate` and `eta_seconds` are null and `stalled_since` says since when (the time
/// of the last bytes, or of the import's creation when none came yet). Docs/imports.md, "Progress".
enum ImportProgressJSON {
    static let stalledAfter: Int64 = 10

    static func json(_ r: ImageRecord, now: Int64) -> [String: Any] {
        var p: [String: Any] = ["bytes": r.progressBytes]
        p["total"] = r.progressTotal ?? NSNull()
        p["last_bytes_at"] = r.progressAt.map { TimeFormat.rfc3339($0) } ?? NSNull()
        let since = r.progressAt ?? r.createdAt
        let stalled = now - since >= stalledAfter
        p["stalled_since"] = stalled ? TimeFormat.rfc3339(since) : NSNull()
        let rate = stalled ? nil : r.progressRate
        p["rate"] = rate ?? NSNull()
        if let total = r.progressTotal, let rate, rate > 0, total >= r.progressBytes {
            p["eta_seconds"] = Int((Double(total - r.progressBytes) / rate).rounded(.up))
        } else {
            p["eta_seconds"] = NSNull()
        }
        return p
    }
}
