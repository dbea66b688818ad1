// swift-tools-version:6.0
//
// ImageGate: an image download gateway for a private cloud.
// No SwiftPM package dependencies: Foundation, Dispatch, the standard library and
// C libraries from Debian -dev packages through system-library targets.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "ImageGate",
    products: [
        .executable(name: "imagegate", targets: ["imagegate"]),
    ],
    targets: [
        // C libraries from Debian packages.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CXLSXWriter", pkgConfig: "xlsxwriter", providers: [.apt(["libxlsxwriter-dev"])]),
        .systemLibrary(name: "CLibSSH", pkgConfig: "libssh", providers: [.apt(["libssh-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Linux specials Glibc does not export to Swift (epoll, accept4, eventfd, sendfile).
        .target(name: "CLinuxShims", cSettings: [.define("_GNU_SOURCE")]),

        // The syscall layer, the only code that calls file and socket syscalls: errno as SystemError, file I/O
        // (writeAll, pread, fsync), the one atomic file write, sockets, epoll, and the fault seam tests use.
        .target(name: "SystemIO", dependencies: ["CLinuxShims"]),
        // The git commit of the build (`imagegate --version`): one generated function, written by the plugin below.
        .target(name: "BuildCommit", plugins: ["GitCommitStamp"]),
        .plugin(name: "GitCommitStamp", capability: .buildTool()),
        // Errors, clocks, logging, small value types shared by every layer.
        .target(name: "GateCore", dependencies: ["SystemIO"]),
        // SHA-256, HMAC, HKDF, random bytes, constant-time compare (OpenSSL).
        .target(name: "CryptoPrimitives", dependencies: ["COpenSSL"]),
        // Signed download tokens (igt1) and the signing keyring.
        .target(name: "DownloadTokens", dependencies: ["GateCore", "CryptoPrimitives", "SystemIO"]),
        // Image records, the store interface (CatalogStore), the blob store and start-up recovery.
        .target(name: "ImageCatalog", dependencies: ["GateCore", "CryptoPrimitives", "SystemIO"]),
        // The embedded catalog: CatalogStore on one SQLite file (the default; Docs/catalog.md).
        .target(
            name: "SQLiteCatalog", dependencies: ["GateCore", "ImageCatalog", "CSQLite", "SystemIO"]),
        // The shared catalog: CatalogStore on PostgreSQL, for several gateway nodes (Docs/catalog.md).
        .target(
            name: "PostgresCatalog", dependencies: ["GateCore", "ImageCatalog", "PostgresClient"]),
        // Who may do what: principals, tenants, sub-accounts, API keys, image lifecycle rules, recycle bin,
        // VM references, audit log. The management API and the CLI call only this.
        .target(
            name: "ImageManagement",
            dependencies: ["GateCore", "CryptoPrimitives", "ImageCatalog", "DownloadTokens", "SystemIO"]),
        // Streaming format inspection of image bytes: qcow2 header rules, ISO 9660, refusal of VMDK/VHD/… .
        .target(name: "ImageInspection", dependencies: ["GateCore"]),
        // HTTP/1.1: request parser, range and precondition logic, responses, event-loop server.
        .target(
            name: "HTTPServer", dependencies: ["GateCore", "SystemIO", "TLSSupport"]),
        // TLS with OpenSSL: contexts (TLS 1.2/1.3, modern suites), certificates, self-signed generation, streams.
        .target(name: "TLSSupport", dependencies: ["COpenSSL", "GateCore", "SystemIO"]),
        // SSH transport (libssh 0.10) and a read-only SFTP v3 subsystem serving one image per token.
        .target(name: "SFTPServer", dependencies: ["CLibSSH", "GateCore", "SystemIO"]),
        // FTP/FTPS (explicit AUTH TLS) read-only front with passive data connections and REST.
        .target(
            name: "FTPServer", dependencies: ["GateCore", "SystemIO", "TLSSupport"]),
        // Composition root: configuration, CLI commands, management API, console, upload fronts, wiring of
        // catalog, tokens, imports and listeners (Docs/architecture.md, "Targets").
        .target(
            name: "ImageGateApp",
            dependencies: [
                "GateCore", "SystemIO", "CryptoPrimitives", "DownloadTokens", "ImageCatalog", "SQLiteCatalog",
                "HTTPServer", "TLSSupport",
                "SFTPServer", "FTPServer", "ImageManagement", "ImageInspection", "CXLSXWriter", "URLFetcher", "CCurl",
                "PostgresClient", "PostgresCatalog", "BuildCommit", "S3Client", "S3BlobStore", "SliceCache",
                "ImportPipeline", "ConsoleAssets",
            ]),
        // Imports from bytes to an available image: jobs, leases, staging sinks with in-line checks, URL fetches,
        // local files, upload sessions, finalize and resumption (Docs/imports.md). No HTTP: the fronts that feed
        // it (tus, content PUT) are in ImageGateApp.
        .target(
            name: "ImportPipeline",
            dependencies: [
                "GateCore", "SystemIO", "CryptoPrimitives", "ImageCatalog", "ImageManagement", "ImageInspection",
                "URLFetcher",
            ]),
        // The web console's files, generated by scripts/embed-console.py (a leaf: one table of strings).
        .target(name: "ConsoleAssets"),
        // URL import transport: http, https and ftp through libcurl with the SSRF defences of Docs/protocols.md §4.1.
        .target(name: "URLFetcher", dependencies: ["CCurl", "GateCore"]),
        // PostgreSQL client on libpq: URLs, parameterized queries, typed errors (SQLSTATE), transactions with
        // retry, advisory locks, a bounded pool for dedicated threads, versioned migrations (Docs/deployment.md).
        .target(name: "PostgresClient", dependencies: ["CLibPQ", "GateCore", "SystemIO"]),
        // S3 client on libcurl: s3:// locations, credentials, AWS Signature Version 4 (OpenSSL HMAC/SHA-256),
        // object and multipart calls for dedicated threads, typed errors (Docs/object-storage.md).
        .target(
            name: "S3Client", dependencies: ["CCurl", "CryptoPrimitives", "GateCore", "SystemIO"]),
        // BlobStorage on an S3 bucket (`blobs.url = s3://…`): multipart imports that resume from a catalog
        // checkpoint, per-slice digests for the read cache (Docs/object-storage.md).
        .target(
            name: "S3BlobStore", dependencies: ["GateCore", "ImageCatalog", "S3Client", "CryptoPrimitives", "SliceCache"]),
        // The node-local read cache of object-store slices: LRU, single flight, SHA-256 checks (Docs/object-storage.md).
        .target(
            name: "SliceCache", dependencies: ["GateCore", "SystemIO", "CryptoPrimitives"]),
        .executableTarget(name: "imagegate", dependencies: ["ImageGateApp"]),

        .testTarget(name: "SystemIOTests", dependencies: ["SystemIO", "TestSupport"]),
        .testTarget(name: "GateCoreTests", dependencies: ["GateCore", "CryptoPrimitives", "SystemIO"]),
        .testTarget(name: "DownloadTokensTests", dependencies: ["DownloadTokens", "CryptoPrimitives", "GateCore"]),
        .testTarget(
            name: "ImageCatalogTests", dependencies: ["ImageCatalog", "SQLiteCatalog", "GateCore", "CryptoPrimitives", "CSQLite"]),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "GateCore"]),
        .testTarget(
            name: "ImageManagementTests",
            dependencies: ["ImageManagement", "ImageCatalog", "SQLiteCatalog", "GateCore", "SystemIO"]),
        .testTarget(name: "ImageInspectionTests", dependencies: ["ImageInspection", "GateCore"]),
        .testTarget(name: "TLSSupportTests", dependencies: ["TLSSupport", "COpenSSL", "GateCore", "SystemIO"]),
        .testTarget(name: "SFTPServerTests", dependencies: ["SFTPServer", "GateCore", "SystemIO", "TestSupport"]),
        .testTarget(
            name: "FTPServerTests", dependencies: ["FTPServer", "TLSSupport", "GateCore", "SystemIO", "TestSupport"]),
        .testTarget(name: "URLFetcherTests", dependencies: ["URLFetcher", "GateCore"]),
        .testTarget(name: "S3ClientTests", dependencies: ["S3Client", "CryptoPrimitives", "GateCore", "TestSupport"]),
        .testTarget(
            name: "SliceCacheTests",
            dependencies: ["SliceCache", "S3Client", "HTTPServer", "SystemIO", "CryptoPrimitives", "GateCore", "TestSupport"]),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "GateCore"]),
        .testTarget(
            name: "S3BlobStoreTests",
            dependencies: [
                "S3BlobStore", "S3Client", "ImageCatalog", "SQLiteCatalog", "SliceCache", "CryptoPrimitives",
                "GateCore", "TestSupport",
            ]),
        // Shared by test targets only (Docs/testing.md, "In-process tests"): scratch directories, seeded random
        // bytes, raw request builders, a scripted client socket, bounded waits. Public APIs only.
        .target(name: "TestSupport", dependencies: ["GateCore"], path: "Tests/TestSupport"),
        .testTarget(name: "HTTPServerLoopTests", dependencies: ["HTTPServer", "GateCore", "SystemIO", "TestSupport"]),
        .testTarget(
            name: "ImageGateAppHTTPTests",
            dependencies: [
                "ImageGateApp", "ImportPipeline", "HTTPServer", "DownloadTokens", "ImageManagement", "SFTPServer",
                "SystemIO", "GateCore",
                "TestSupport",
            ]),
        .testTarget(
            name: "CatalogConformanceTests",
            dependencies: ["ImageCatalog", "SQLiteCatalog", "PostgresCatalog", "PostgresClient", "GateCore"]),
        .testTarget(
            name: "ImageGateAppTests",
            dependencies: [
                "ImageGateApp", "ImportPipeline", "ConsoleAssets", "ImageCatalog", "SQLiteCatalog", "DownloadTokens",
                "GateCore", "SystemIO", "TestSupport",
            ]),
        .testTarget(
            name: "ImportPipelineTests",
            dependencies: [
                "ImportPipeline", "ImageManagement", "ImageCatalog", "SQLiteCatalog", "CryptoPrimitives", "GateCore",
                "TestSupport",
            ]),
    ]
)

// Every Swift target, tests included, builds with the same strict settings (Docs/style.md, "Compiler
// settings"): one loop, so a new target cannot be added without them.
for target in package.targets where target.type != .system && target.type != .plugin {
    target.swiftSettings = (target.swiftSettings ?? []) + strictSettings
}
