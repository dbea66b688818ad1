//===----------------------------------------------------------------------===//
// ImageGate: fixtures for management tests: a temp catalog, a service, two tenants and their accounts.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import Glibc
import ImageCatalog
import SQLiteCatalog
import ImageManagement

/// A fresh directory under /tmp, removed when the value goes away.
final class TempDir {
    let path: String

    init() {
        var template = Array("/tmp/imagegate-mgmt-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A service on a temp catalog with tenants A and B, each with an owner, and A's view and manage
/// sub-accounts; one available image per tenant with a real blob.
final class World {
    let dir = TempDir()
    let clock = ManualClock(1_700_000_000)
    let store: SQLiteCatalogStore
    let blobs: BlobStore
    let service: ImageService
    let admin: Principal
    let adminSecret: String
    let ownerA: Principal
    let ownerB: Principal
    let viewA: Principal
    let manageA: Principal
    let tenantA: TenantID
    let tenantB: TenantID
    static let retention: Int64 = 7 * 86_400

    var catalogPath: String { dir.path + "/catalog.db" }

    init() throws {
        store = try SQLiteCatalogStore.open(path: dir.path + "/catalog.db", clock: clock)
        blobs = BlobStore(root: dir.path + "/store")
        service = ImageService(store: store, blobs: blobs, clock: clock, retention: Self.retention)
        let boot = try service.bootstrap()
        admin = Principal(account: boot.admin)
        adminSecret = boot.newAdminKeySecret!
        let a = try service.createTenant(admin, name: "tenant A", source: "test")
        let b = try service.createTenant(admin, name: "tenant B", source: "test")
        tenantA = a.tenant.id
        tenantB = b.tenant.id
        ownerA = Principal(account: a.owner)
        ownerB = Principal(account: b.owner)
        viewA = Principal(
            account: try service.createAccount(
                ownerA, tenant: nil, name: "viewer", permission: .view,
                source: "test"))
        manageA = Principal(
            account: try service.createAccount(
                ownerA, tenant: nil, name: "editor",
                permission: .manage, source: "test"))
    }

    /// Inserts an image with a blob of `size` bytes (when available).
    @discardableResult
    func image(
        _ tenant: TenantID, name: String = "img", status: ImageStatus = .available, size: UInt64 = 16,
        createdAt: Int64? = nil, tags: [String] = [], systemType: String = "Linux", architecture: String = "x86_64",
        kind: ImageKind = .selfMade
    ) throws -> ImageRecord {
        let now = createdAt ?? clock.now()
        let record = ImageRecord(
            id: ImageRecord.newID(), tenant: tenant, name: name,
            fileName: ImageRecord.downloadFileName(name: name, format: .qcow2), format: .qcow2, size: size,
            sha256: String(repeating: "0", count: 64), status: status, generation: 1, createdAt: now, updatedAt: now,
            kind: kind, systemType: systemType, architecture: architecture, tags: tags)
        try store.insert(record)
        try FileManager.default.createDirectory(atPath: blobs.blobDirectory, withIntermediateDirectories: true)
        precondition(
            FileManager.default.createFile(atPath: blobs.path(for: record.id), contents: Data(count: Int(size))),
            "cannot create a test file")
        return record
    }

    func events(_ action: String) throws -> [AuditEvent] {
        try store.auditEvents(tenant: nil, afterSeq: nil, limit: 100_000).filter { $0.action == action }
    }

    func eventCount() throws -> Int { try store.auditEvents(tenant: nil, afterSeq: nil, limit: 100_000).count }
}

/// The code of the GateError `body` throws, nil if it succeeds.
func code<T>(_ body: () throws(GateError) -> T) -> GateError.Code? {
    do {
        _ = try body()
        return nil
    } catch {
        return error.code
    }
}
