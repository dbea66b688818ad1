//===----------------------------------------------------------------------===//
// ImageGate: import jobs in the PostgreSQL catalog (the import_jobs table), and the start-up counts.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import PostgresClient

extension PostgresCatalogStore {
    private static let jobColumns =
        "image_id, source, sealed_url, display_url, declared, expected_sha256, encrypted, total_size, validator, "
        + "upload_id, expires_at, created_at, detect_format"

    public func saveImportJob(_ job: ImportJob) throws(GateError) {
        try inTransaction { c in
            try c.query(
                """
                INSERT INTO import_jobs (image_id, source, sealed_url, display_url, declared, expected_sha256,
                    encrypted, total_size, validator, upload_id, expires_at, created_at, detect_format)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                ON CONFLICT (image_id) DO UPDATE SET source = excluded.source, sealed_url = excluded.sealed_url,
                    display_url = excluded.display_url, declared = excluded.declared,
                    expected_sha256 = excluded.expected_sha256, encrypted = excluded.encrypted,
                    total_size = excluded.total_size, validator = excluded.validator, upload_id = excluded.upload_id,
                    expires_at = excluded.expires_at, created_at = excluded.created_at,
                    detect_format = excluded.detect_format
                """,
                [
                    .text(job.imageID.description), .text(job.source.rawValue), .text(job.sealedURL),
                    .text(job.displayURL), .text(job.declared), .text(job.expectedSHA256), .bool(job.encrypted),
                    .int(job.totalSize.map { Int64(clamping: $0) }), .text(job.validator), .text(job.uploadID),
                    .int(job.expiresAt), .int(job.createdAt), .text(job.detectFormat?.rawValue),
                ])
        }
    }

    public func importJob(image: ImageID) throws(GateError) -> ImportJob? {
        try withConnection { c in
            try c.query(
                composed: "SELECT \(Self.jobColumns) FROM import_jobs WHERE image_id = $1",
                [.text(image.description)]
            ).first.map(Self.decodeJob)
        }
    }

    public func importJob(upload: String) throws(GateError) -> ImportJob? {
        try withConnection { c in
            try c.query(composed: "SELECT \(Self.jobColumns) FROM import_jobs WHERE upload_id = $1", [.text(upload)])
                .first.map(Self.decodeJob)
        }
    }

    public func importJobs() throws(GateError) -> [ImportJob] {
        try withConnection { c in
            try c.query(composed: "SELECT \(Self.jobColumns) FROM import_jobs ORDER BY created_at, image_id")
                .rows.map(Self.decodeJob)
        }
    }

    public func deleteImportJob(image: ImageID) throws(GateError) {
        try inTransaction { c in
            try c.query("DELETE FROM import_jobs WHERE image_id = $1", [.text(image.description)])
        }
    }

    private static func decodeJob(_ row: PostgresRow) throws -> ImportJob {
        guard let id = ImageID(try row.string(0)), let source = ImportJob.Source(rawValue: try row.string(1)) else {
            throw PostgresImageRow.damaged("import job '\(try row.string(0))'")
        }
        return ImportJob(
            imageID: id, source: source, sealedURL: try row.optionalString(2), displayURL: try row.optionalString(3),
            declared: try row.string(4), expectedSHA256: try row.optionalString(5), encrypted: try row.bool(6),
            totalSize: try row.optionalInt64(7).map { UInt64(max(0, $0)) }, validator: try row.optionalString(8),
            uploadID: try row.optionalString(9), expiresAt: try row.optionalInt64(10), createdAt: try row.int64(11),
            detectFormat: try row.optionalString(12).flatMap(FormatDetection.init(rawValue:)))
    }

    /// How many image rows and minted-link records the catalog holds (one snapshot: one statement).
    public func imageAndLinkCounts() throws(GateError) -> (images: Int, links: Int) {
        try withConnection { c in
            let row = try c.query("SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM token_issues)").single()
            return (Int(try row.int64(0)), Int(try row.int64(1)))
        }
    }
}
