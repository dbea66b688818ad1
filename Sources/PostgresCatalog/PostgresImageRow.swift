//===----------------------------------------------------------------------===//
// ImageGate: mapping between ImageRecord and a row of the PostgreSQL `images` table.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import PostgresClient

/// Column order shared by every `SELECT … FROM images` and the INSERT/UPDATE parameter numbers, the same
/// as the SQLite store's (SQLiteCatalog/ImageRow.swift): $1 id … $32 progress_at; SELECTs add a 33rd,
/// derived column: the number of VM references.
enum PostgresImageRow {
    static let columns = ImageColumns.names
    static let select = ImageColumns.select
    static let insert =
        "INSERT INTO images (" + columns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        + "$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)"
    static let update = """
        UPDATE images SET tenant = $2, name = $3, remarks = $4, file_name = $5, format = $6,
            size = $7, sha256 = $8, status = $9, generation = $10, failure_reason = $11,
            created_at = $12, updated_at = $13, finalized_at = $14, kind = $15, encrypted = $16, features = $17,
            system_type = $18, os_release = $19, platform = $20, os_version = $21, architecture = $22,
            boot_mode = $23, project_group = $24, tags = $25, virtual_size = $26, status_before_delete = $27,
            deleted_at = $28, progress_bytes = $29, progress_total = $30, progress_rate = $31,
            progress_at = $32
        WHERE id = $1
        """

    /// Lists as both stores keep them (ImageColumns): `␟a␟b␟`, so a tag filter is an exact substring test.
    static let separator = ImageColumns.separator
    static func joinList(_ items: [String]) throws(GateError) -> String { try ImageColumns.joinList(items) }
    static func splitList(_ text: String) -> [String] { ImageColumns.splitList(text) }

    /// The 32 parameters of `insert` and `update`.
    static func parameters(_ r: ImageRecord) throws(GateError) -> [PostgresValue] {
        [
            .text(r.id.description), .text(r.tenant.description), .text(r.name), .text(r.remarks),
            .text(r.fileName), .text(r.format.rawValue), .int(try signed(r.size, "image size")), .text(r.sha256),
            .text(r.status.rawValue), .int(Int64(r.generation)), .text(r.failureReason), .int(r.createdAt),
            .int(r.updatedAt), .int(r.finalizedAt), .text(r.kind.rawValue), .bool(r.encrypted),
            .text(try joinList(r.features)), .text(r.systemType), .text(r.osRelease), .text(r.platform),
            .text(r.osVersion), .text(r.architecture), .text(r.bootMode), .text(r.projectGroup),
            .text(try joinList(r.tags)), .int(try signed(r.virtualSize, "virtual size")),
            .text(r.statusBeforeDelete?.rawValue), .int(r.deletedAt), .int(try signed(r.progressBytes, "progress")),
            .int(try r.progressTotal.map { (t) throws(GateError) in try signed(t, "progress total") }),
            // Swift prints the shortest text that reads back as the same Double; float8 keeps it exactly.
            r.progressRate.map { .text(String($0)) } ?? .null, .int(r.progressAt),
        ]
    }

    private static func signed(_ value: UInt64, _ what: String) throws(GateError) -> Int64 {
        guard let v = Int64(exactly: value) else { throw .invalid("\(what) \(value) is too large") }
        return v
    }

    static func decode(_ row: PostgresRow) throws -> ImageRecord {
        let idText = try row.string(0)
        guard let id = ImageID(idText) else { throw damaged("image id '\(idText)'") }
        let tenantText = try row.string(1)
        guard let tenant = TenantID(tenantText) else { throw damaged("tenant '\(tenantText)' of \(idText)") }
        let formatText = try row.string(5)
        guard let format = ImageFormat(rawValue: formatText) else { throw damaged("format '\(formatText)'") }
        let statusText = try row.string(8)
        guard let status = ImageStatus(rawValue: statusText) else { throw damaged("status '\(statusText)'") }
        let kindText = try row.string(14)
        guard let kind = ImageKind(rawValue: kindText) else { throw damaged("kind '\(kindText)'") }
        var before: ImageStatus?
        if let text = try row.optionalString(26) {
            guard let s = ImageStatus(rawValue: text) else { throw damaged("status_before_delete '\(text)'") }
            before = s
        }
        var rate: Double?
        if let text = try row.optionalString(30) {
            guard let r = Double(text) else { throw damaged("progress_rate of \(idText)") }
            rate = r
        }
        return ImageRecord(
            id: id, tenant: tenant, name: try row.string(2), remarks: try row.string(3), fileName: try row.string(4),
            format: format, size: UInt64(clamping: try row.int64(6)), sha256: try row.string(7), status: status,
            generation: UInt32(truncatingIfNeeded: try row.int64(9)), failureReason: try row.optionalString(10),
            createdAt: try row.int64(11), updatedAt: try row.int64(12), finalizedAt: try row.optionalInt64(13),
            kind: kind, encrypted: try row.bool(15), features: splitList(try row.string(16)),
            systemType: try row.string(17), osRelease: try row.string(18), platform: try row.string(19),
            osVersion: try row.string(20), architecture: try row.string(21), bootMode: try row.string(22),
            projectGroup: try row.string(23), tags: splitList(try row.string(24)),
            virtualSize: UInt64(clamping: try row.int64(25)), statusBeforeDelete: before,
            deletedAt: try row.optionalInt64(27), vmCount: Int(try row.int64(32)),
            progressBytes: UInt64(clamping: try row.int64(28)),
            progressTotal: try row.optionalInt64(29).map { UInt64(clamping: $0) },
            progressRate: rate, progressAt: try row.optionalInt64(31))
    }

    static func damaged(_ what: String) -> GateError {
        .io("catalog is damaged: bad \(what)")
    }
}
