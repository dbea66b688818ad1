//===----------------------------------------------------------------------===//
// ImageGate: an import's checks frozen at a part boundary, so an import into an object store resumes
// without reading back the bytes it stored (Docs/object-storage.md, "Resume").
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageInspection

/// The whole state of `ImportSink`'s checks after `bytes` bytes: the SHA-256 midstate, the inspector (nil
/// while the format is still being detected) and the held-back head for detection. Restoring it and feeding
/// the following bytes gives exactly the result of an uninterrupted import.
struct ImportCheckpoint: Codable, Equatable {
    var version = 1
    var sha256: [UInt8]
    var inspector: ImageInspector?
    var pendingHead: [UInt8]
    var bytes: UInt64

    static func == (a: Self, b: Self) -> Bool {
        // The inspector compares by its encoding, the state that would be saved (keys sorted: their order is
        // otherwise not fixed).
        a.version == b.version && a.sha256 == b.sha256 && a.pendingHead == b.pendingHead && a.bytes == b.bytes
            && sortedJSON(a.inspector) == sortedJSON(b.inspector)
    }

    private static func sortedJSON(_ inspector: ImageInspector?) -> Data? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try? encoder.encode(inspector)
    }

    init(sha256: [UInt8], inspector: ImageInspector?, pendingHead: [UInt8], bytes: UInt64) {
        self.sha256 = sha256
        self.inspector = inspector
        self.pendingHead = pendingHead
        self.bytes = bytes
    }

    func encoded() throws(GateError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(self))
        } catch {
            throw GateError.internal("cannot encode the import checkpoint: \(error)")
        }
    }

    static func decode(_ bytes: [UInt8]) throws(GateError) -> ImportCheckpoint {
        let c: ImportCheckpoint
        do {
            c = try JSONDecoder().decode(ImportCheckpoint.self, from: Data(bytes))
        } catch {
            throw GateError.io("the import's checkpoint is damaged: \(error)")
        }
        guard c.version == 1 else { throw GateError.io("the import's checkpoint has unknown version \(c.version)") }
        return c
    }
}
