//===----------------------------------------------------------------------===//
// ImageGate: the store kinds the conformance suite runs against, and a fresh catalog of each kind per test.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import Glibc
import ImageCatalog
import PostgresCatalog
import PostgresClient
import SQLiteCatalog

/// Every `CatalogStore` implementation. PostgreSQL joins when `IMAGEGATE_TEST_PG_URL` names a server
/// (`scripts/test.sh` starts a private cluster and exports it; by hand:
/// `d=$(mktemp -d); export IMAGEGATE_TEST_PG_URL=$(scripts/pg-cluster.sh start $d)`).
enum StoreKind: String, Sendable, CustomStringConvertible {
    case sqlite, postgres

    static let postgresURLText: String? = getenv("IMAGEGATE_TEST_PG_URL").map { String(cString: $0) }

    static var available: [StoreKind] {
        (postgresURLText.map { !$0.isEmpty } ?? false) ? [.sqlite, .postgres] : [.sqlite]
    }

    var description: String { rawValue }
}

/// One empty catalog of a kind: a SQLite file in a temp directory, or a scratch PostgreSQL database (tests
/// run in parallel on one server). Several stores may be opened on it, as several processes or nodes would.
/// Removed when the value goes away.
final class TestCatalog {
    let kind: StoreKind
    private var directory: String?
    private var database: String?
    private var adminURL: PostgresURL?
    private var opened: [any CatalogStore] = []

    init(_ kind: StoreKind) throws {
        self.kind = kind
        switch kind {
        case .sqlite:
            var template = Array("/tmp/imagegate-conformance-XXXXXX".utf8CString)
            let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
            precondition(made != nil, "mkdtemp failed")
            directory = String(
                decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        case .postgres:
            let url = try PostgresURL(StoreKind.postgresURLText ?? "")
            let name = "conformance_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            let admin = try PostgresConnection(url: url)
            defer { admin.close() }
            try admin.query(composed: "CREATE DATABASE \(name)")
            adminURL = url
            database = name
        }
    }

    deinit {
        for store in opened { store.close() }
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        if let adminURL, let database, let admin = try? PostgresConnection(url: adminURL) {
            _ = try? admin.query(composed: "DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            admin.close()
        }
    }

    /// The scratch database's URL (PostgreSQL catalogs only).
    var postgresURL: PostgresURL? { adminURL.flatMap { url in database.map { url.withDatabase($0) } } }

    /// A new store on this catalog (its own connection or pool), closed with the catalog.
    func open(clock: any WallClock = ManualClock(1_700_000_000), poolSize: Int = 4) throws -> any CatalogStore {
        let store: any CatalogStore
        switch kind {
        case .sqlite:
            store = try SQLiteCatalogStore.open(path: directory! + "/catalog.sqlite3", clock: clock)
        case .postgres:
            store = try PostgresCatalogStore.open(
                url: adminURL!.withDatabase(database!), poolSize: poolSize, clock: clock)
        }
        opened.append(store)
        return store
    }
}

/// A plain record for store tests.
func sampleRecord(
    name: String = "ubuntu-24.04", tenant: TenantID = .defaultTenant, status: ImageStatus = .available,
    createdAt: Int64 = 1_700_000_000, size: UInt64 = 1234
) -> ImageRecord {
    ImageRecord(
        id: ImageRecord.newID(), tenant: tenant, name: name, remarks: "remark",
        fileName: ImageRecord.downloadFileName(name: name, format: .qcow2), format: .qcow2, size: size,
        sha256: String(repeating: "ab", count: 32), status: status, generation: 1, failureReason: nil,
        createdAt: createdAt, updatedAt: createdAt, finalizedAt: status == .available ? createdAt : nil)
}

/// Runs `body(i)` for i in 0..<count on `count` threads of their own (never the cooperative pool: store calls
/// block) and waits for all; rethrows the first error.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    let errors = ErrorBox()
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        let thread = Thread {
            defer { group.leave() }
            do { try body(i) } catch { errors.record(error) }
        }
        thread.start()
    }
    group.wait()
    if let first = errors.first { throw first }
}

final class ErrorBox: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var errors: [any Error] = []
    func record(_ error: any Error) { lock.withLock { errors.append(error) } }
    var first: (any Error)? { lock.withLock { errors.first } }
}

/// A thread-safe counter/collector for concurrency tests.
final class Collected<T>: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.withLock { items.append(item) } }
    var all: [T] { lock.withLock { items } }
}
