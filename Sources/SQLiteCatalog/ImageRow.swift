//===----------------------------------------------------------------------===//
// ImageGate: mapping between ImageRecord and a row of the `images` table.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

/// The SQLite side of the `images` row: the columns and list encoding both stores share (ImageColumns) with
/// SQLite's `?n` parameters, in ImageColumns' order.
enum ImageRow {
    static let columns = ImageColumns.names
    static let select = ImageColumns.select
    static let insert =
        "INSERT INTO images (" + columns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
        + "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)"
    static let update = """
        UPDATE images SET tenant = ?2, name = ?3, remarks = ?4, file_name = ?5, format = ?6,
            size = ?7, sha256 = ?8, status = ?9, generation = ?10, failure_reason = ?11,
            created_at = ?12, updated_at = ?13, finalized_at = ?14, kind = ?15, encrypted = ?16, features = ?17,
            system_type = ?18, os_release = ?19, platform = ?20, os_version = ?21, architecture = ?22,
            boot_mode = ?23, project_group = ?24, tags = ?25, virtual_size = ?26, status_before_delete = ?27,
            deleted_at = ?28, progress_bytes = ?29, progress_total = ?30, progress_rate = ?31,
            progress_at = ?32
        WHERE id = ?1
        """

    static let separator = ImageColumns.separator
    static func joinList(_ items: [String]) throws(GateError) -> String { try ImageColumns.joinList(items) }
    static func splitList(_ text: String) -> [String] { ImageColumns.splitList(text) }

    static func bind(_ r: ImageRecord, to stmt: SQLiteStatement) throws(GateError) {
        try stmt.bind(1, r.id.description)
        try stmt.bind(2, r.tenant.description)
        try stmt.bind(3, r.name)
        try stmt.bind(4, r.remarks)
        try stmt.bind(5, r.fileName)
        try stmt.bind(6, r.format.rawValue)
        // SQLite (and PostgreSQL bigint) integers are signed 64-bit; 8 EiB is beyond any real image.
        try stmt.bind(7, try signed(r.size, "image size"))
        try stmt.bind(8, r.sha256)
        try stmt.bind(9, r.status.rawValue)
        try stmt.bind(10, Int64(r.generation))
        try stmt.bind(11, r.failureReason)
        try stmt.bind(12, r.createdAt)
        try stmt.bind(13, r.updatedAt)
        try stmt.bind(14, r.finalizedAt)
        try stmt.bind(15, r.kind.rawValue)
        try stmt.bind(16, Int64(r.encrypted ? 1 : 0))
        try stmt.bind(17, try joinList(r.features))
        try stmt.bind(18, r.systemType)
        try stmt.bind(19, r.osRelease)
        try stmt.bind(20, r.platform)
        try stmt.bind(21, r.osVersion)
        try stmt.bind(22, r.architecture)
        try stmt.bind(23, r.bootMode)
        try stmt.bind(24, r.projectGroup)
        try stmt.bind(25, try joinList(r.tags))
        try stmt.bind(26, try signed(r.virtualSize, "virtual size"))
        try stmt.bind(27, r.statusBeforeDelete?.rawValue)
        try stmt.bind(28, r.deletedAt)
        try stmt.bind(29, try signed(r.progressBytes, "progress"))
        if let total = r.progressTotal {
            try stmt.bind(30, try signed(total, "progress total"))
        } else {
            try stmt.bindNull(30)
        }
        try stmt.bind(31, r.progressRate)
        try stmt.bind(32, r.progressAt)
    }

    private static func signed(_ value: UInt64, _ what: String) throws(GateError) -> Int64 {
        guard let v = Int64(exactly: value) else { throw .invalid("\(what) \(value) is too large") }
        return v
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
        let kindText = stmt.string(14)
        guard let kind = ImageKind(rawValue: kindText) else { throw damaged("kind '\(kindText)'") }
        var before: ImageStatus?
        if let text = stmt.optionalString(26) {
            guard let s = ImageStatus(rawValue: text) else { throw damaged("status_before_delete '\(text)'") }
            before = s
        }
        return ImageRecord(
            id: id, tenant: tenant, name: stmt.string(2), remarks: stmt.string(3), fileName: stmt.string(4),
            format: format, size: UInt64(clamping: stmt.int64(6)), sha256: stmt.string(7), status: status,
            generation: UInt32(truncatingIfNeeded: stmt.int64(9)), failureReason: stmt.optionalString(10),
            createdAt: stmt.int64(11), updatedAt: stmt.int64(12), finalizedAt: stmt.optionalInt64(13),
            kind: kind, encrypted: stmt.int64(15) != 0, features: splitList(stmt.string(16)),
            systemType: stmt.string(17), osRelease: stmt.string(18), platform: stmt.string(19),
            osVersion: stmt.string(20), architecture: stmt.string(21), bootMode: stmt.string(22),
            projectGroup: stmt.string(23), tags: splitList(stmt.string(24)),
            virtualSize: UInt64(clamping: stmt.int64(25)), statusBeforeDelete: before,
            deletedAt: stmt.optionalInt64(27), vmCount: Int(stmt.int64(32)),
            progressBytes: UInt64(clamping: stmt.int64(28)),
            progressTotal: stmt.optionalInt64(29).map { UInt64(clamping: $0) },
            progressRate: stmt.optionalDouble(30), progressAt: stmt.optionalInt64(31))
    }

    static func damaged(_ what: String) -> GateError {
        .io("catalog is damaged: bad \(what)")
    }
}
