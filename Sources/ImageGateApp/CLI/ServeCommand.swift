//===----------------------------------------------------------------------===//
// ImageGate: `imagegate serve`: open the data directory, recover, listen, wait for a signal, stop.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import DownloadTokens
import GateCore
import HTTPServer
import ImageCatalog
import SFTPServer
import SystemIO

enum ServeCommand {
    static let help = """
        Usage: imagegate serve [--config FILE] [--data-dir DIR] [--http HOST:PORT] [--sftp HOST:PORT]

          Run the transfer server. With no flags: data under ./data (SQLite catalog, blob store, keys),
          signing keys generated on first start (mode 0600), HTTP on 127.0.0.1:8080.
          Port 0 picks a free port; the line "http: listening on URL" says which.

          --http HOST:PORT    HTTP listener address (overrides http.listen).
          --sftp HOST:PORT    SFTP (SSH) listener address (overrides sftp.listen; default 127.0.0.1:2222).

          SIGTERM or SIGINT stops cleanly: listeners and connections closed (clients resume with a
          range request), catalog closed. SIGHUP reopens the access log.
          Every setting can also be given in the config file: see Config/imagegate.conf.example.
        """

    static func run(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        let args = try Arguments(raw, valueOptions: ["--http", "--sftp"], flagOptions: [])
        if args.wantsHelp {
            print(help)
            return ExitCode.success
        }
        try args.noMorePositionals(than: 0)
        var settings = try loadSettings(args)
        if let h = args.value("--http") {
            guard let a = ListenAddress(h) else { throw GateError.usage("--http: expected HOST:PORT, got \(h)") }
            settings.httpListen = a
        }
        if let v = args.value("--sftp") {
            guard let a = ListenAddress(v) else { throw GateError.usage("--sftp: expected HOST:PORT, got \(v)") }
            settings.sftpListen = a
        }
        Signals.takeOver()
        let data = try DataDirectory.open(settings)
        defer { data.close() }
        let logger = Logger(sink: .standardError, minimum: settings.logLevel)

        let report = try CatalogRecovery(store: data.store, blobs: data.blobs, clock: data.clock).run()
        logger.info("catalog recovery: \(report)")

        try DataDirectory.makeDirectories(settings.dataDir + "/logs")
        let accessLog: LineSink?
        switch settings.accessLog {
        case "off": accessLog = nil
        case "-": accessLog = .standardOutput
        default: accessLog = try LineSink.appending(path: settings.accessLogPath)
        }

        let authorizer = DownloadAuthorizer(
            codec: TokenCodec(deploymentID: data.keys.deploymentID), keys: data.keys, store: data.store,
            clock: data.clock, maxLifetime: settings.tokenMaxTTL)
        let handler = DownloadHandler(authorizer: authorizer, blobs: data.blobs, logger: logger, clock: data.clock)
        let listener: HTTPListener
        do {
            listener = try HTTPListener.start(
                address: settings.httpListen, config: settings.http, handler: handler, accessLog: accessLog,
                logger: logger)
        } catch {
            throw GateError.io("cannot listen on \(settings.httpListen): \(error)")
        }
        var bound = settings.httpListen
        bound.port = listener.port
        let sftp: SFTPListener
        do {
            sftp = try SFTPFront.start(
                settings, authorizer: authorizer, blobs: data.blobs, accessLog: accessLog, logger: logger)
        } catch {
            listener.stop()
            throw error
        }
        var sftpBound = settings.sftpListen
        sftpBound.port = sftp.port
        var run = RunFile(pid: getpid(), http: bound.description, startedAt: TimeFormat.rfc3339(data.clock.now()))
        run.sftp = sftpBound.description
        try run.write(to: settings.runFile)

        let ring = data.keys.keyring()
        print("imagegate \(ImageGateCLI.version) serving \(absolutePath(settings.dataDir))")
        print("catalog: \(absolutePath(settings.catalogPath))")
        print("token keys: \(absolutePath(data.keys.keyFilePath)) (active key \(KeyCommands.kidText(ring.active.kid)))")
        print("access log: \(accessLog == nil ? "off" : settings.accessLog == "-" ? "stdout" : absolutePath(settings.accessLogPath))")
        print("http: listening on http://\(bound)")
        for line in SFTPFront.banner(sftp, bound: sftpBound) { print(line) }
        StandardOutput.flush()

        while true {
            switch Signals.wait() {
            case .reload:
                do {
                    try accessLog?.reopen()
                    logger.info("SIGHUP: access log reopened")
                } catch {
                    logger.error("SIGHUP: \(error.message)")
                }
            case .terminate:
                logger.info("stopping")
                listener.stop()
                sftp.stop()
                RunFile.remove(settings.runFile)
                logger.info("stopped")
                return ExitCode.success
            }
        }
    }
}
