//===----------------------------------------------------------------------===//
// ImageGate: /api/v1/audit and /api/v1/audit/export.csv: the audit log by filter, readable.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import HTTPServer
import ImageCatalog
import ImageManagement

/// The audit page's API (Docs/management.md "Audit log", Docs/console.md "Audit"): filters `tenant`, `action`,
/// `image`, `serial`, `account`, `since`, `until` (RFC 3339, a date, or Unix seconds), paging by `after` (oldest
/// first) or `before` with `order=desc` (newest first), and the same events as CSV.
struct AuditRoutes {
    /// Rows in one CSV export: the export pages through the log, and stops here (the newest first).
    static let maxExportRows = 100_000

    let service: ImageService

    func route(_ c: APICall) throws(GateError) -> Response {
        guard c.method == "GET" else { throw ManagementAPI.methodNotAllowed("GET") }
        switch c.segments.count {
        case 1:
            let events = try service.auditEvents(c.principal, try Self.query(c.query))
            return APIReply.json(200, ["items": events.map(APIJSON.audit)])
        case 2 where c.segments[1] == "export.csv":
            var q = try Self.query(c.query)
            q.limit = ImageService.maxAuditPage
            var rows: [AuditEvent] = []
            while rows.count < Self.maxExportRows {
                let page = try service.auditEvents(c.principal, q)
                rows += page
                guard page.count == q.limit, let last = page.last else { break }
                if q.newestFirst { q.beforeSeq = last.seq } else { q.afterSeq = last.seq }
            }
            return ImageExporter.download(
                Array(AuditCSV.text(rows).utf8), type: "text/csv; charset=utf-8",
                name: "audit.csv")
        default:
            throw GateError.notFound("no such API route")
        }
    }

    static func query(_ q: QueryString) throws(GateError) -> AuditQuery {
        var out = AuditQuery(limit: try q.int("limit", default: 100))
        out.limit = min(max(out.limit, 1), ImageService.maxAuditPage)
        if let t = q["tenant"] {
            guard let tenant = TenantID(t) else { throw GateError.invalid("tenant must be a tenant id (ten-…)") }
            out.tenant = tenant
        }
        out.action = q["action"]
        out.image = q["image"]
        out.serial = q["serial"]?.lowercased()
        out.actor = q["account"]
        out.afterSeq = try seq(q, "after")
        out.beforeSeq = try seq(q, "before")
        out.since = try q["since"].map { s throws(GateError) in try time(s, "since", endOfDay: false) }
        out.until = try q["until"].map { s throws(GateError) in try time(s, "until", endOfDay: true) }
        switch q["order"] ?? "asc" {
        case "asc": out.newestFirst = false
        case "desc": out.newestFirst = true
        default: throw GateError.invalid("order must be asc or desc")
        }
        return out
    }

    private static func seq(_ q: QueryString, _ key: String) throws(GateError) -> Int64? {
        guard let text = q[key] else { return nil }
        guard let n = Int64(text), n >= 0 else { throw GateError.invalid("\(key) must be a sequence number") }
        return n
    }

    /// `2026-12-07T13:00:00Z`, `2026-12-07` (the whole day: from its first second, or until its last), or Unix
    /// seconds. Only UTC, like every time the API prints.
    static func time(_ text: String, _ key: String, endOfDay: Bool) throws(GateError) -> Int64 {
        let bad = GateError.invalid("\(key) must be a time like 2026-12-07T13:00:00Z, a date, or Unix seconds")
        let u = Array(text.utf8)
        // Unix seconds: ASCII digits only (no sign), at most 12 (Docs/openapi.yaml's pattern says the same).
        if u.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard u.count <= 12, let n = Int64(text) else { throw bad }
            return n
        }
        func num(_ r: Range<Int>) -> Int32? {
            guard r.upperBound <= u.count, u[r].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            return Int32(String(decoding: u[r], as: UTF8.self))
        }
        guard
            u.count == 10
                || (u.count == 20 && u[10] == UInt8(ascii: "T") && u[19] == UInt8(ascii: "Z")
                    && u[13] == UInt8(ascii: ":") && u[16] == UInt8(ascii: ":")),
            u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"),
            let year = num(0..<4), let month = num(5..<7), let day = num(8..<10), (1...12).contains(month),
            (1...31).contains(day)
        else { throw bad }
        var t = tm()
        t.tm_year = year - 1900
        t.tm_mon = month - 1
        t.tm_mday = day
        if u.count == 20 {
            guard let h = num(11..<13), let m = num(14..<16), let s = num(17..<19), h < 24, m < 60, s <= 60 else {
                throw bad
            }
            (t.tm_hour, t.tm_min, t.tm_sec) = (h, m, s)
        }
        let start = Int64(timegm(&t))
        return u.count == 10 && endOfDay ? start + 86_399 : start
    }
}

/// Audit details as people read them: times in RFC 3339 (ISO 8601, UTC) instead of Unix seconds, and the
/// protocol bit mask a link records as the protocol names (`https,sftp`). Applied when reading, so events
/// written before keep their stored (hash-chained) form and are shown the same way.
enum AuditDetailText {
    static func readable(_ detail: [String: String]) -> [String: String] {
        var out = detail
        for (key, value) in detail {
            if key.hasSuffix("_at") || key == "expires", let unix = Int64(value) {
                out[key] = TimeFormat.rfc3339(unix)
            } else if key == "protocols", let bits = UInt16(value) {
                out[key] = protocolNames(bits)
            }
        }
        return out
    }

    /// The names for the token's `perms` bits (Docs/tokens.md): `https` (bit 0), `sftp` (1),
    /// `ftps` (2), `ftp` (3, clear text), `http` (4, clear text).
    static func protocolNames(_ bits: UInt16) -> String {
        let set = WebhookEvents.protocolNames(bits)
        return set.isEmpty ? "none" : set.joined(separator: ",")
    }
}

/// The CSV export of the audit page: one row per event, details as `key=value` pairs (readable form).
enum AuditCSV {
    static let header = [
        "seq", "time", "actor", "actor_tenant", "action", "target", "target_tenant", "source",
        "outcome", "detail",
    ]

    static func text(_ events: [AuditEvent]) -> String {
        var out = header.joined(separator: ",") + "\r\n"
        for e in events {
            let detail = AuditDetailText.readable(e.detail).sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let row = [
                String(e.seq), TimeFormat.rfc3339(e.time), e.actor, e.actorTenant?.description ?? "", e.action,
                e.target, e.targetTenant?.description ?? "", e.source, e.outcome, detail,
            ]
            out += row.map(ImageExporter.csvCell).joined(separator: ",") + "\r\n"
        }
        return out
    }
}
