//===----------------------------------------------------------------------===//
// ImageGate: import jobs in the SQLite catalog (the import_jobs table).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension SQLiteCatalogStore {
    private static let jobColumns =
        "image_id, source, sealed_url, display_url, declared, expected_sha256, encrypted, total_size, validator, "
        + "upload_id, expires_at, created_at, detect_format"

    public func saveImportJob(_ job: ImportJob) throws(GateError) {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                """
                INSERT OR REPLACE INTO import_jobs (image_id, source, sealed_url, display_url, declared,
                    expected_sha256, encrypted, total_size, validator, upload_id, expires_at, created_at,
                    detect_format)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                """)
            try stmt.bind(1, job.imageID.description)
            try stmt.bind(2, job.source.rawValue)
            try stmt.bind(3, job.sealedURL)
            try stmt.bind(4, job.displayURL)
            try stmt.bind(5, job.declared)
            try stmt.bind(6, job.expectedSHA256)
            try stmt.bind(7, Int64(job.encrypted ? 1 : 0))
            try stmt.bind(8, job.totalSize.map { Int64(clamping: $0) })
            try stmt.bind(9, job.validator)
            try stmt.bind(10, job.uploadID)
            try stmt.bind(11, job.expiresAt)
            try stmt.bind(12, job.createdAt)
            try stmt.bind(13, job.detectFormat?.rawValue)
            try stmt.step()
        }
    }

    public func importJob(image: ImageID) throws(GateError) -> ImportJob? {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(composed: "SELECT \(Self.jobColumns) FROM import_jobs WHERE image_id = ?1")
            try stmt.bind(1, image.description)
            return try stmt.step() ? try Self.decodeJob(stmt) : nil
        }
    }

    public func importJob(upload: String) throws(GateError) -> ImportJob? {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(composed: "SELECT \(Self.jobColumns) FROM import_jobs WHERE upload_id = ?1")
            try stmt.bind(1, upload)
            return try stmt.step() ? try Self.decodeJob(stmt) : nil
        }
    }

    public func importJobs() throws(GateError) -> [ImportJob] {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                composed: "SELECT \(Self.jobColumns) FROM import_jobs ORDER BY created_at, image_id")
            var out: [ImportJob] = []
            while try stmt.step() { out.append(try Self.decodeJob(stmt)) }
            return out
        }
    }

    public func deleteImportJob(image: ImageID) throws(GateError) {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare("DELETE FROM import_jobs WHERE image_id = ?1")
            try stmt.bind(1, image.description)
            try stmt.step()
        }
    }

    private static func decodeJob(_ s: SQLiteStatement) throws(GateError) -> ImportJob {
        guard let id = ImageID(s.string(0)), let source = ImportJob.Source(rawValue: s.string(1)) else {
            throw ImageRow.damaged("import job '\(s.string(0))'")
        }
        return ImportJob(
            imageID: id, source: source, sealedURL: s.optionalString(2), displayURL: s.optionalString(3),
            declared: s.string(4), expectedSHA256: s.optionalString(5), encrypted: s.int64(6) != 0,
            totalSize: s.optionalInt64(7).map { UInt64(max(0, $0)) }, validator: s.optionalString(8),
            uploadID: s.optionalString(9), expiresAt: s.optionalInt64(10), createdAt: s.int64(11),
            detectFormat: s.optionalString(12).flatMap(FormatDetection.init(rawValue:)))
    }
}
