//===----------------------------------------------------------------------===//
// ImageGate: the caller's image list as an Excel workbook (libxlsxwriter) or CSV.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CXLSXWriter
import CryptoPrimitives
import GateCore
import HTTPServer
import ImageCatalog
import ImageManagement
import SystemIO

/// The columns of the console's image list, in order, with how each cell is read from a record.
struct ExportColumn: Sendable {
    enum Value: Sendable {
        case text(String)
        case number(Double)
    }
    let title: String
    let value: @Sendable (ImageRecord) -> Value

    static let all: [ExportColumn] = [
        ExportColumn(title: "Name") { .text($0.name) },
        ExportColumn(title: "Resource ID") { .text($0.id.description) },
        ExportColumn(title: "Kind") { .text($0.kind == .iso ? "ISO" : "Self-made") },
        ExportColumn(title: "Status") { .text($0.status.rawValue) },
        ExportColumn(title: "Encrypted") { .text($0.encrypted ? "Yes" : "No") },
        ExportColumn(title: "Feature support") { .text($0.features.joined(separator: ", ")) },
        ExportColumn(title: "System type") { .text($0.systemType) },
        ExportColumn(title: "Operating system") { .text($0.osRelease) },
        ExportColumn(title: "Architecture") { .text($0.architecture) },
        ExportColumn(title: "Boot mode") { .text($0.bootMode) },
        ExportColumn(title: "Project group") { .text($0.projectGroup) },
        ExportColumn(title: "Tags") { .text($0.tags.joined(separator: ", ")) },
        ExportColumn(title: "Size (bytes)") { .number(Double($0.size)) },
        ExportColumn(title: "Virtual size (bytes)") { .number(Double($0.virtualSize)) },
        ExportColumn(title: "SHA-256") { .text($0.sha256) },
        ExportColumn(title: "VMs created") { .number(Double($0.vmCount)) },
        ExportColumn(title: "Tenant") { .text($0.tenant.description) },
        ExportColumn(title: "Created (UTC)") { .text(TimeFormat.rfc3339($0.createdAt)) },
        ExportColumn(title: "Updated (UTC)") { .text(TimeFormat.rfc3339($0.updatedAt)) },
        ExportColumn(title: "Remarks") { .text($0.remarks) },
    ]
}

struct ImageExporter: Sendable {
    /// Where the workbook is built before it is read back (libxlsxwriter 1.1.4 writes only to files).
    let scratchDirectory: String

    func route(_ c: APICall, service: ImageService) throws(GateError) -> Response {
        guard c.segments.count == 1 else { throw GateError.notFound("no such API route") }
        guard c.method == "GET" else { throw ManagementAPI.methodNotAllowed("GET") }
        var q = try ImageRoutes.query(c.query)
        q.offset = 0
        let images = try Self.allImages(service, c.principal, q)
        if c.segments[0] == "export.csv" {
            return Self.download(Array(Self.csv(images).utf8), type: "text/csv; charset=utf-8", name: "images.csv")
        }
        return Self.download(
            try xlsx(images), type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            name: "images.xlsx")
    }

    /// Every image matching `q`, page by page.
    static func allImages(_ service: ImageService, _ p: Principal, _ base: ImageQuery) throws(GateError)
        -> [ImageRecord]
    {
        var q = base
        q.limit = 500
        var out: [ImageRecord] = []
        while true {
            let page = try service.listImages(p, q)
            out += page.items
            q.offset += page.items.count
            if page.items.isEmpty || q.offset >= page.total { return out }
        }
    }

    static func download(_ bytes: [UInt8], type: String, name: String) -> Response {
        Response(
            status: 200,
            headers: [
                ("Content-Type", type), ("Content-Disposition", "attachment; filename=\"\(name)\""),
                ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
            ], body: [.bytes(bytes)])
    }

    /// RFC 4180 CSV. Cells that a spreadsheet would run as a formula get a leading apostrophe (OWASP CSV
    /// injection): the first Unicode scalar is a tab or CR, or the first scalar after leading white space is
    /// =, +, -, @ or their full-width forms. Scalars, not characters: "=" followed by a combining mark is
    /// one grapheme that is not "=", yet a spreadsheet still reads a formula.
    static func formulaLike(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first else { return false }
        if first == "\t" || first == "\r" { return true }
        guard let lead = s.unicodeScalars.first(where: { !$0.properties.isWhitespace }) else { return false }
        return "=+-@\u{FF1D}\u{FF0B}\u{FF0D}\u{FF20}".unicodeScalars.contains(lead)
    }

    /// One RFC 4180 text cell, guarded against formulas (`formulaLike`); the audit export uses it too.
    static func csvCell(_ text: String) -> String {
        var s = text
        if formulaLike(s) { s = "'" + s }
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            s = "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }

    static func csv(_ images: [ImageRecord]) -> String {
        func cell(_ v: ExportColumn.Value) -> String {
            switch v {
            case .number(let n): return String(UInt64(n))
            case .text(let s): return csvCell(s)
            }
        }
        var out = ExportColumn.all.map { cell(.text($0.title)) }.joined(separator: ",") + "\r\n"
        for r in images {
            out += ExportColumn.all.map { cell($0.value(r)) }.joined(separator: ",") + "\r\n"
        }
        return out
    }

    /// A real .xlsx: header row in bold, frozen, with an autofilter; strings are always stored as strings
    /// (never formulas), numbers as numbers.
    func xlsx(_ images: [ImageRecord]) throws(GateError) -> [UInt8] {
        let path = scratchDirectory + "/export-\(Hex.encode(Crypto.randomBytes(8))).xlsx"
        defer { FileIO.remove(path) }
        guard let wb = workbook_new(path) else { throw GateError.io("cannot create the workbook") }
        let ws = workbook_add_worksheet(wb, "Images")
        let bold = workbook_add_format(wb)
        format_set_bold(bold)
        for (col, c) in ExportColumn.all.enumerated() {
            worksheet_write_string(ws, 0, lxw_col_t(col), c.title, bold)
            worksheet_set_column(ws, lxw_col_t(col), lxw_col_t(col), c.title == "SHA-256" ? 66 : 20, nil)
        }
        for (i, r) in images.enumerated() {
            let row = lxw_row_t(i + 1)
            for (col, c) in ExportColumn.all.enumerated() {
                switch c.value(r) {
                case .text(let s): worksheet_write_string(ws, row, lxw_col_t(col), s, nil)
                case .number(let n): worksheet_write_number(ws, row, lxw_col_t(col), n, nil)
                }
            }
        }
        worksheet_freeze_panes(ws, 1, 0)
        worksheet_autofilter(ws, 0, 0, lxw_row_t(max(images.count, 1)), lxw_col_t(ExportColumn.all.count - 1))
        guard workbook_close(wb) == LXW_NO_ERROR else { throw GateError.io("cannot write the workbook") }
        guard let bytes = readWhole(path) else { throw GateError.io("cannot read the workbook back") }
        return bytes
    }

    private func readWhole(_ path: String) -> [UInt8]? {
        guard let fd = try? FileIO.open(path, O_RDONLY | O_CLOEXEC) else { return nil }
        defer { Sys.close(fd) }
        return (try? FileIO.readToEnd(fd, limit: Int.max)) ?? nil
    }
}

import Foundation
