//===----------------------------------------------------------------------===//
// ImageGate: mapping between ImageRecord and a row of the `images` table.
//===----------------------------------------------------------------------===//
import GateCore

/// Column order shared by every `SELECT … FROM images` and the INSERT/UPDATE parameter numbers:
/// ?1 id, ?2 tenant, ?3 name, ?4 remarks, ?5 file_name, ?6 format, ?7 size, ?8 sha256, ?9 status,
/// ?10 generation, ?11 failure_reason, ?12 created_at, ?13 updated_at, ?14 finalized_at.
enum ImageRow {
    static func bind(_ r: ImageRecord, to stmt: SQLiteStatement) throws(GateError) {
        try stmt.bind(1, r.id.description)
        try stmt.bind(2, r.tenant.description)
        try stmt.bind(3, r.name)
        try stmt.bind(4, r.remarks)
        try stmt.bind(5, r.fileName)
        try stmt.bind(6, r.format.rawValue)
        // SQLite (and PostgreSQL bigint) integers are signed 64-bit; 8 EiB is beyond any real image.
        guard let size = Int64(exactly: r.size) else { throw .invalid("image size \(r.size) is too large") }
        try stmt.bind(7, size)
        try stmt.bind(8, r.sha256)
        try stmt.bind(9, r.status.rawValue)
        try stmt.bind(10, Int64(r.generation))
        try stmt.bind(11, r.failureReason)
        try stmt.bind(12, r.createdAt)
        try stmt.bind(13, r.updatedAt)
        try stmt.bind(14, r.finalizedAt)
    }

    static func decode(_ stmt: SQLiteStatement) throws(GateError) -> ImageRecord {
        let idText = stmt.string(0)
        guard let id = ImageID(idText) else { throw damaged("image id '\(idText)'") }
        let tenantText = stmt.string(1)
        guard let tenant = TenantID(tenantText) else { throw damaged("tenant '\(tenantText)' of \(idText)") }
        let formatText = stmt.string(5)
        guard let format = ImageFormat(rawValue: formatText) else { throw damaged("format '\(formatText)'") }
        let statusText = stmt.string(8)
        guard let status = ImageStatus(rawValue: statusText) else { throw damaged("status '\(statusText)'") }
        return ImageRecord(
            id: id, tenant: tenant, name: stmt.string(2), remarks: stmt.string(3), fileName: stmt.string(4),
            format: format, size: UInt64(clamping: stmt.int64(6)), sha256: stmt.string(7), status: status,
            generation: UInt32(truncatingIfNeeded: stmt.int64(9)), failureReason: stmt.optionalString(10),
            createdAt: stmt.int64(11), updatedAt: stmt.int64(12), finalizedAt: stmt.optionalInt64(13))
    }

    private static func damaged(_ what: String) -> GateError {
        .io("catalog is damaged: bad \(what)")
    }
}
