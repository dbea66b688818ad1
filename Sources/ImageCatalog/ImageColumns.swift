//===----------------------------------------------------------------------===//
// ImageGate: what both catalog stores agree on about the `images` table: its columns in order and how lists
// (tags, features) are stored in one text column. Each store writes its own placeholders ($n, ?n) around them.
//===----------------------------------------------------------------------===//
import GateCore

/// Column order shared by every `SELECT … FROM images` and the INSERT/UPDATE parameter numbers of both stores:
/// 1 id, 2 tenant, 3 name, 4 remarks, 5 file_name, 6 format, 7 size, 8 sha256, 9 status, 10 generation,
/// 11 failure_reason, 12 created_at, 13 updated_at, 14 finalized_at, 15 kind, 16 encrypted, 17 features,
/// 18 system_type, 19 os_release, 20 platform, 21 os_version, 22 architecture, 23 boot_mode, 24 project_group,
/// 25 tags, 26 virtual_size, 27 status_before_delete, 28 deleted_at, 29 progress_bytes, 30 progress_total,
/// 31 progress_rate, 32 progress_at. SELECTs add a 33rd, derived column: the number of VM references.
package enum ImageColumns {
    /// Constant SQL fragments; the only strings a store's composed statements see besides other constants.
    package static let names = """
        id, tenant, name, remarks, file_name, format, size, sha256, status, generation, failure_reason,
        created_at, updated_at, finalized_at, kind, encrypted, features, system_type, os_release, platform,
        os_version, architecture, boot_mode, project_group, tags, virtual_size, status_before_delete,
        deleted_at, progress_bytes, progress_total, progress_rate, progress_at
        """
    package static let select =
        "SELECT " + names
        + ", (SELECT count(*) FROM vm_references v WHERE v.image_id = images.id) FROM images"

    /// Separator of list elements: U+001F (unit separator), a control character that validated tags and
    /// features can never contain. Stored as `␟a␟b␟` so a search for `'␟' || tag || '␟'` is an exact match.
    package static let separator: Character = "\u{1F}"

    package static func joinList(_ items: [String]) throws(GateError) -> String {
        guard !items.isEmpty else { return "" }
        for item in items where item.isEmpty || item.contains(separator) {
            throw .invalid("list element '\(item)' is empty or contains U+001F")
        }
        return String(separator) + items.joined(separator: String(separator)) + String(separator)
    }

    package static func splitList(_ text: String) -> [String] {
        text.split(separator: separator, omittingEmptySubsequences: true).map(String.init)
    }
}
