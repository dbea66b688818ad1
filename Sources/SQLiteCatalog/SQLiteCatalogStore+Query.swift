//===----------------------------------------------------------------------===//
// ImageGate: SQLite store, the image list query, image removal, VM references.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension SQLiteCatalogStore {
    /// The WHERE clause of the image list. Every filter is a bound parameter that disables itself when
    /// NULL, so one constant statement serves every combination:
    /// ?1 tenant, ?2 ",status,status," list, ?3 kind, ?4 system type, ?5 architecture, ?6 tag, ?7 search.
    /// `instr` (not LIKE) keeps `%`, `_` and `\\` literal in searches.
    private static let imageFilter = """
         WHERE (?1 IS NULL OR tenant = ?1)
          AND instr(?2, ',' || status || ',') > 0
          AND (?3 IS NULL OR kind = ?3)
          AND (?4 IS NULL OR lower(system_type) = lower(?4))
          AND (?5 IS NULL OR lower(architecture) = lower(?5))
          AND (?6 IS NULL OR instr(tags, char(31) || ?6 || char(31)) > 0)
          AND (?7 IS NULL OR instr(lower(name), lower(?7)) > 0 OR instr(id, lower(?7)) > 0)
        """

    /// The ORDER BY column for each whitelisted sort: the only query text that depends on the caller.
    private static func orderColumn(_ sort: ImageSort) -> String {
        switch sort {
        case .name: "name COLLATE NOCASE"
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
        func bindFilters(_ stmt: SQLiteStatement) throws(GateError) {
            try stmt.bind(1, q.tenant?.description)
            try stmt.bind(2, statusList)
            try stmt.bind(3, q.kind?.rawValue)
            try stmt.bind(4, q.systemType)
            try stmt.bind(5, q.architecture)
            try stmt.bind(6, q.tag)
            try stmt.bind(7, q.search)
        }
        return try withConnection { db throws(GateError) in
            // Count and page in one read transaction so `total` matches the page.
            try db.exec("BEGIN")
            defer { try? db.exec("COMMIT") }
            let count = try db.prepare(composed: "SELECT count(*) FROM images" + Self.imageFilter)
            try bindFilters(count)
            let total = try count.step() ? Int(count.int64(0)) : 0
            let stmt = try db.prepare(composed: ImageRow.select + Self.imageFilter + order + " LIMIT ?8 OFFSET ?9")
            try bindFilters(stmt)
            try stmt.bind(8, Int64(q.limit))
            try stmt.bind(9, Int64(q.offset))
            var items: [ImageRecord] = []
            while try stmt.step() { items.append(try ImageRow.decode(stmt)) }
            return ImagePage(items: items, total: total, offset: q.offset, limit: q.limit)
        }
    }

    @discardableResult
    public func removeImage(_ id: ImageID, _ check: (ImageRecord) throws(GateError) -> Void) throws(GateError)
        -> ImageRecord
    {
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) -> ImageRecord in
                guard let record = try Self.fetch(db, id) else { throw .notFound("no image \(id)") }
                try check(record)
                // Leases and VM references go by ON DELETE CASCADE.
                let stmt = try db.prepare("DELETE FROM images WHERE id = ?1")
                try stmt.bind(1, id.description)
                try stmt.step()
                return record
            }
        }
    }

    // MARK: VM references

    public func addVMReference(_ ref: VMReference, _ check: (ImageRecord) throws(GateError) -> Void)
        throws(GateError)
    {
        try withConnection { db throws(GateError) in
            try db.immediateTransaction { () throws(GateError) in
                guard let record = try Self.fetch(db, ref.imageID) else { throw .notFound("no image \(ref.imageID)") }
                try check(record)
                let stmt = try db.prepare("INSERT INTO vm_references (image_id, vm_id, created_at) VALUES (?1, ?2, ?3)")
                try stmt.bind(1, ref.imageID.description)
                try stmt.bind(2, ref.vmID)
                try stmt.bind(3, ref.createdAt)
                try stmt.step()
            }
        }
    }

    public func removeVMReference(image: ImageID, vmID: String) throws(GateError) -> Bool {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare("DELETE FROM vm_references WHERE image_id = ?1 AND vm_id = ?2")
            try stmt.bind(1, image.description)
            try stmt.bind(2, vmID)
            try stmt.step()
            return db.changes > 0
        }
    }

    public func vmReferences(image: ImageID) throws(GateError) -> [VMReference] {
        try withConnection { db throws(GateError) in
            let stmt = try db.prepare(
                "SELECT vm_id, created_at FROM vm_references WHERE image_id = ?1 ORDER BY created_at, vm_id")
            try stmt.bind(1, image.description)
            var out: [VMReference] = []
            while try stmt.step() {
                out.append(VMReference(vmID: stmt.string(0), imageID: image, createdAt: stmt.int64(1)))
            }
            return out
        }
    }
}
