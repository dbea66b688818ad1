//===----------------------------------------------------------------------===//
// ImageGate: the status transition table, every status × every operation.
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import ImageManagement
import Testing

@Suite struct LifecycleTests {
    typealias Op = ImageLifecycle.Operation

    /// The legal transitions; every other (status, operation) pair must be a conflict.
    static let legal: [Op: [ImageStatus: ImageStatus]] = {
        var t: [Op: [ImageStatus: ImageStatus]] = [:]
        for op in [Op.rename, .editRemarks, .editTags] {
            t[op] = Dictionary(uniqueKeysWithValues: ImageStatus.allCases.map { ($0, $0) })
        }
        t[.delete] = [.available: .deleting, .failed: .deleting]
        t[.finishDelete] = [.deleting: .deleted]
        t[.restore] = [.deleted: .available]
        t[.destroy] = [.deleted: .deleted]
        t[.download] = [.available: .available]
        t[.attachVM] = [.available: .available]
        t[.startImport] = [.failed: .uploading]
        t[.finishImport] = [.uploading: .available]
        t[.failImport] = [.uploading: .failed]
        t[.cancelImport] = [.uploading: .failed]
        t[.startMaking] = [.failed: .making]
        t[.finishMaking] = [.making: .available]
        t[.failMaking] = [.making: .failed]
        t[.failVerify] = [.available: .failed]
        return t
    }()

    static let pairs: [(ImageStatus, Op)] = ImageStatus.allCases.flatMap { s in Op.allCases.map { (s, $0) } }

    @Test(arguments: pairs)
    func transition(_ status: ImageStatus, _ op: Op) throws {
        if let expected = Self.legal[op]?[status] {
            #expect(try ImageLifecycle.next(status, op) == expected)
        } else {
            do {
                _ = try ImageLifecycle.next(status, op)
                Issue.record("\(op) from \(status) should be illegal")
            } catch {
                #expect(error.code == .conflict)
                #expect(error.message == "cannot \(op.verb) an image that is \(status.rawValue)")
            }
        }
    }

    @Test func applyKeepsRecycleBinFieldsAndGeneration() throws {
        var r = ImageRecord(
            id: ImageRecord.newID(), tenant: .defaultTenant, name: "x", fileName: "x.img", format: .raw,
            status: .failed, generation: 4, createdAt: 1, updatedAt: 1)
        try ImageLifecycle.apply(.delete, to: &r, now: 50)
        #expect(r.status == .deleting && r.statusBeforeDelete == .failed && r.deletedAt == 50 && r.generation == 5)
        try ImageLifecycle.apply(.finishDelete, to: &r, now: 51)
        #expect(r.status == .deleted && r.generation == 5)
        try ImageLifecycle.apply(.restore, to: &r, now: 52)
        #expect(r.status == .failed && r.statusBeforeDelete == nil && r.deletedAt == nil && r.generation == 6)
        let before = r
        #expect(throws: GateError.self) { try ImageLifecycle.apply(.restore, to: &r, now: 53) }
        #expect(r == before)
    }
}
