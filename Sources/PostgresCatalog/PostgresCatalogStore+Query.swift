//===----------------------------------------------------------------------===//
// ImageGate: PostgreSQL store, the image list query, image removal, VM references.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import PostgresClient

extension PostgresCatalogStore {
    /// The WHERE clause of the image list, the SQLite store's filter term for term. Every filter is a
    /// parameter that disables itself when NULL: $1 tenant, $2 ",status,status," list, $3 kind, $4 system type,
    /// $5 architecture, $6 tag, $7 search. `strpos` (not LIKE) keeps `%`, `_` and `\\` literal; `lower(… COLLATE
    /// "C")` folds ASCII only, as SQLite's `lower()` does.
    private static let imageFilter = """
         WHERE ($1::text IS NULL OR tenant = $1)
          AND strpos($2::text, ',' || status || ',') > 0
          AND ($3::text IS NULL OR kind = $3)
          AND ($4::text IS NULL OR lower(system_type) = lower($4::text COLLATE "C"))
          AND ($5::text IS NULL OR lower(architecture) = lower($5::text COLLATE "C"))
          AND ($6::text IS NULL OR strpos(tags, chr(31) || $6::text || chr(31)) > 0)
          AND ($7::text IS NULL OR strpos(lower(name), lower($7::text COLLATE "C")) > 0
               OR strpos(id, lower($7::text COLLATE "C")) > 0)
        """

    /// The ORDER BY column for each whitelisted sort. `lower(name)` on a "C"-collated column is SQLite's
    /// `COLLATE NOCASE`: ASCII letters folded, then byte order.
    private static func orderColumn(_ sort: ImageSort) -> String {
        switch sort {
        case .name: "lower(name)"
        case .createdAt: "created_at"
        case .updatedAt: "updated_at"
        case .size: "size"
        case .status: "status"
        }
    }

    public func queryImages(_ q: ImageQuery) throws(GateError) -> ImagePage {
        try q.checkPage()
        let statusList = q.statusListText
        let order = q.orderClause(column: Self.orderColumn(q.sort))
        let filters: [PostgresValue] = [
            .text(q.tenant?.description), .text(statusList), .text(q.kind?.rawValue), .text(q.systemType),
            .text(q.architecture), .text(q.tag), .text(q.search),
        ]
        return try withConnection { c in
            // Count and page from one snapshot so `total` matches the page.
            try c.transaction(.repeatableRead) { _ in
                let total = try c.query(composed: "SELECT count(*) FROM images" + Self.imageFilter, filters)
                    .single().int64(0)
                let rows = try c.query(
                    composed: PostgresImageRow.select + Self.imageFilter + order + " LIMIT $8 OFFSET $9",
                    filters + [.int(q.limit), .int(q.offset)])
                return ImagePage(
                    items: try rows.rows.map(PostgresImageRow.decode), total: Int(total), offset: q.offset,
                    limit: q.limit)
            }
        }
    }

    @discardableResult
    public func removeImage(_ id: ImageID, _ check: (ImageRecord) throws(GateError) -> Void) throws(GateError)
        -> ImageRecord
    {
        try inTransaction { c in
            guard let record = try Self.fetch(c, id, forUpdate: true) else {
                throw GateError.notFound("no image \(id)")
            }
            try check(record)
            // Leases, VM references and the import job go by ON DELETE CASCADE.
            try c.query("DELETE FROM images WHERE id = $1", [.text(id.description)])
            return record
        }
    }

    // MARK: VM references

    public func addVMReference(_ ref: VMReference, _ check: (ImageRecord) throws(GateError) -> Void)
        throws(GateError)
    {
        try inTransaction { c in
            // Locked: a concurrent delete or status change of the image waits for this check-and-insert.
            guard let record = try Self.fetch(c, ref.imageID, forUpdate: true) else {
                throw GateError.notFound("no image \(ref.imageID)")
            }
            try check(record)
            try c.query(
                "INSERT INTO vm_references (image_id, vm_id, created_at) VALUES ($1, $2, $3)",
                [.text(ref.imageID.description), .text(ref.vmID), .int(ref.createdAt)])
        }
    }

    public func removeVMReference(image: ImageID, vmID: String) throws(GateError) -> Bool {
        try inTransaction { c in
            try c.query(
                "DELETE FROM vm_references WHERE image_id = $1 AND vm_id = $2", [.text(image.description), .text(vmID)]
            ).affectedRows > 0
        }
    }

    public func vmReferences(image: ImageID) throws(GateError) -> [VMReference] {
        try withConnection { c in
            try c.query(
                "SELECT vm_id, created_at FROM vm_references WHERE image_id = $1 ORDER BY created_at, vm_id",
                [.text(image.description)]
            ).rows.map { row in VMReference(vmID: try row.string(0), imageID: image, createdAt: try row.int64(1)) }
        }
    }
}
