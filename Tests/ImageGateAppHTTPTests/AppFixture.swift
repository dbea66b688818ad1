//===----------------------------------------------------------------------===//
// ImageGate: the server's HTTP front in-process: a data directory in a scratch directory, the handler
// `serve` builds on it, a real listener on a loopback port, and a client the test scripts.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import DownloadTokens
import Foundation
import GateCore
import HTTPServer
@testable import ImageGateApp
import ImageManagement
import ImportPipeline
import SFTPServer
import SystemIO
import TestSupport

/// Opens a data directory as `imagegate serve` does (DataDirectory.open: catalog, keys, bootstrap admin key)
/// and serves the same `RootHandler` over HTTP on 127.0.0.1:0. Tests talk to it only in HTTP bytes and
/// management API JSON, so they keep their meaning whatever the types behind it become; this is the one file
/// that knows those types (the wiring below mirrors ServeCommand.run).
final class AppFixture {
    let dir: TemporaryDirectory
    let settings: Settings
    let data: DataDirectory
    let listener: HTTPListener
    /// The platform admin's API key that the first start writes to keys/admin-api-key.
    let adminKey: String
    let accessLog: LinePipe
    private var closed = false

    init() throws {
        ClientSocket.ignoreBrokenPipes()
        dir = try TemporaryDirectory(prefix: "app")
        var s = Settings()
        s.dataDir = dir.path + "/data"
        s.http.loops = 1
        s.metricsListen = nil
        s.logLevel = .error
        settings = s
        data = try DataDirectory.open(s)
        // Minting creates the SSH host keys the links name; an RSA key takes ~0.5 s, so every fixture copies
        // one pair generated once per test run.
        try SharedHostKeys.install(into: s.sshHostKeyDir)
        guard
            let key = String(data: FileManager.default.contents(atPath: data.adminKeyPath) ?? Data(), encoding: .utf8),
            key.hasPrefix("igk_")
        else { throw TestFailure("no admin API key at \(data.adminKeyPath)") }
        adminKey = key.trimmingCharacters(in: .whitespacesAndNewlines)
        let logger = Logger(sink: .standardError, minimum: .error)
        let authorizer = DownloadAuthorizer(
            codec: TokenCodec(deploymentID: data.keys.deploymentID), keys: data.keys, store: data.store,
            clock: data.clock, maxLifetime: s.tokenMaxTTL)
        let handler = RootHandler(
            downloads: DownloadHandler(authorizer: authorizer, blobs: data.blobs, logger: logger, clock: data.clock),
            api: data.managementAPI, uploads: TusHandler(imports: data.imports, service: data.service))
        accessLog = try LinePipe()
        do {
            listener = try HTTPListener.start(
                address: ListenAddress(host: "127.0.0.1", port: 0), config: s.http, handler: handler,
                accessLog: accessLog.sink, logger: logger)
        } catch {
            data.close()
            throw error
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        listener.stop()
        data.close()
    }

    deinit { close() }

    /// A new keep-alive connection to the listener.
    func connect() throws -> ClientSocket { try ClientSocket.connect(port: listener.port) }

    /// One request on a connection of its own.
    func send(_ request: RawRequest) throws -> HTTPResponse { try connect().exchange(request) }

    /// A management API call as the admin (or with `key`; `nil` key sends no Authorization).
    func api(_ method: String, _ path: String, key: String?? = .none, json: [String: Any]? = nil) throws
        -> HTTPResponse
    {
        let k: String? = key ?? adminKey
        return try send(.api(method, path, key: k, json: json))
    }

    /// The same API call the way the local CLI makes it (in-process, as `Principal.localAdmin`, no HTTP):
    /// status and JSON body.
    func localAPI(_ method: String, _ path: String, query: [String: String] = [:], json: [String: Any]? = nil) throws
        -> (status: Int, json: [String: Any])
    {
        let answer = try data.localAPI.call(method, path, query: query, body: json)
        return (answer.status, answer.json as? [String: Any] ?? [:])
    }

    /// Imports `bytes` as a raw image the way `imagegate image import --file` does (the import pipeline:
    /// staging sink, checks, atomic finalize), into the default tenant; returns the image id.
    func importImage(_ name: String, _ bytes: [UInt8], tags: [String] = []) throws -> String {
        let path = try dir.write("source-\(name)", bytes)
        var request = ImportRequest(name: name, source: .upload(size: UInt64(bytes.count)))
        request.format = .raw
        request.allowUnspecifiedOS = true
        request.tags = tags
        return try data.imports.importLocalFile(.localAdmin, request, path: path, progress: nil).id.description
    }

    /// Mints a link through the API and returns the path of its plain-HTTP URL (`/d/<token>/<file name>`) and
    /// the link's serial.
    func mintLink(_ imageID: String, key: String? = nil) throws -> (path: String, serial: String) {
        let r = try api("POST", "/api/v1/images/\(imageID)/links", key: .some(key ?? adminKey), json: [:])
        guard r.status == 201 else { throw TestFailure("mint: HTTP \(r.status) \(r.text)") }
        let o = try r.json()
        guard let url = o["http"] as? String, let d = url.range(of: "/d/"), let serial = o["serial"] as? String else {
            throw TestFailure("mint answer without an http URL: \(r.text)")
        }
        return (String(url[d.lowerBound...]), serial)
    }
}

/// SSH host keys generated once per test process and copied into each fixture's data directory.
enum SharedHostKeys {
    /// Set once (by `generated`'s one-time initializer), cleared at exit so the directory is removed.
    nonisolated(unsafe) private static var holder: TemporaryDirectory?

    private static let generated: Result<String, any Error> = Result {
        let dir = try TemporaryDirectory(prefix: "hostkeys")
        holder = dir
        atexit { SharedHostKeys.holder = nil }
        let path = dir.path + "/ssh"
        _ = try SSHHostKeys.loadOrCreate(directory: path)
        return path
    }

    static func install(into directory: String) throws {
        let source = try generated.get()
        try DataDirectory.makeDirectories(directory)
        for name in try FileManager.default.contentsOfDirectory(atPath: source) {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: directory + "/" + name)
        }
    }
}
