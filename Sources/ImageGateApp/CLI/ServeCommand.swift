//===----------------------------------------------------------------------===//
// ImageGate: `imagegate serve`: open the data directory, recover, listen, wait for a signal, stop.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import DownloadTokens
import FTPServer
import GateCore
import ImportPipeline
import S3BlobStore
import HTTPServer
import ImageCatalog
import ImageManagement
import SFTPServer
import SystemIO
import TLSSupport

enum ServeCommand {
    static let help = """
        Usage: imagegate serve [--config FILE] [--data-dir DIR] [--http HOST:PORT] [--https HOST:PORT]
                               [--ftp HOST:PORT|off] [--sftp HOST:PORT] [--metrics HOST:PORT|off]

          Run the transfer server. With no flags: data under ./data (SQLite catalog, blob store, keys),
          signing keys and a self-signed TLS certificate generated on first start (private files mode 0600),
          HTTP on 127.0.0.1:8080 and HTTPS on 127.0.0.1:8443.
          Port 0 picks a free port; the lines "http: listening on URL" and "https: listening on URL" say which.

          --http HOST:PORT    HTTP listener address (overrides http.listen).
          --https HOST:PORT   HTTPS listener address (overrides https.listen).
          --ftp HOST:PORT     FTP/FTPS listener address (overrides ftp.listen; default 127.0.0.1:2121;
                              "off" disables it). Explicit TLS (AUTH TLS) is required unless
                              ftp.allow_plain = true; see Docs/ftp.md.
          --sftp HOST:PORT    SFTP (SSH) listener address (overrides sftp.listen; default 127.0.0.1:2222).
          --metrics HOST:PORT Prometheus /metrics, /healthz and /readyz (overrides metrics.listen; default
                              127.0.0.1:9464; "off" disables it). See Docs/operations.md.

          Refuses to start, naming the file, when the catalog is missing, empty or damaged (SQLite
          quick_check) in a data directory already in use, or key files are missing while links exist: see
          Docs/recovery.md. HTTP answers 503 (Retry-After: 1) until the run file with the bound addresses
          is written; blobs without a catalog row are moved to <data_dir>/quarantine, never deleted.

          Under systemd (Type=notify) READY=1 is sent once every listener is bound; WATCHDOG=1 follows each
          health round when the unit sets WatchdogSec.

          SIGTERM or SIGINT stops cleanly: listeners and connections closed (clients resume with a
          range request), catalog closed. SIGHUP reopens the access log and reloads the TLS certificate.
          Every setting can also be given in the config file: see Config/imagegate.conf.example.
        """

    static func run(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard
            let args = try CommandPrelude.parse(
                raw, valueOptions: ["--http", "--https", "--ftp", "--sftp", "--metrics"], maxPositionals: 0, help: help)
        else { return ExitCode.success }
        var settings = try loadSettings(args)
        if let h = args.value("--http") {
            guard let a = ListenAddress(h) else { throw GateError.usage("--http: expected HOST:PORT, got \(h)") }
            settings.httpListen = a
        }
        if let h = args.value("--https") {
            guard let a = ListenAddress(h) else { throw GateError.usage("--https: expected HOST:PORT, got \(h)") }
            settings.httpsListen = a
        }
        if let f = args.value("--ftp") {
            try settings.apply(configText: "ftp.listen = \(f)", source: "--ftp")
        }
        if let m = args.value("--metrics") {
            try settings.apply(configText: "metrics.listen = \(m)", source: "--metrics")
        }
        if let v = args.value("--sftp") {
            guard let a = ListenAddress(v) else { throw GateError.usage("--sftp: expected HOST:PORT, got \(v)") }
            settings.sftpListen = a
        }
        // Nobody can read counters without the metrics listener: then the fronts do not count at all.
        Metrics.setEnabled(settings.metricsListen != nil)
        Signals.takeOver()
        let data = try DataDirectory.open(settings)
        defer { data.close() }
        // Every line the server logs passes the token redaction, whatever path or front it came from.
        let logger = Logger(sink: LineSink(fd: 2, filter: TokenRedaction.redactTokens(in:)), minimum: settings.logLevel)

        // Leases and task leases name this node (Docs/imports.md).
        logger.info(
            "node id: \(LeaseHolder.localNode) (node.id\(settings.nodeID.isEmpty ? ", default: the host name" : ""))")
        // Imports this server can continue (unexpired uploads, URL fetches) and whose holder stopped are claimed
        // before recovery fails the orphans; imports whose holder is alive (a CLI import) are left alone.
        let resumable = data.imports.adopt()
        var recovery = CatalogRecovery(store: data.store, blobs: data.blobs, clock: data.clock)
        let events = data.service.webhookEvents
        recovery.onFailed = { events.image("image.failed", $0) }
        let report = try recovery.run()
        logger.info("catalog recovery: \(report)")
        // Blobs without a row: quarantined (a few, once old enough) or reported, never deleted.
        let orphans = OrphanBlobJanitor(data: data, logger: logger)
        orphans.run()

        try DataDirectory.makeDirectories(settings.dataDir + "/logs")
        // /readyz checks the blob directory; it exists from the start, not only after the first import.
        try data.blobs.prepare()
        let accessLog: LineSink?
        switch settings.accessLog {
        case "off": accessLog = nil
        case "-": accessLog = LineSink(fd: 1, filter: TokenRedaction.redactTokens(in:))
        default:
            accessLog = try LineSink.appending(path: settings.accessLogPath, filter: TokenRedaction.redactTokens(in:))
        }

        var authorizer = DownloadAuthorizer(
            codec: TokenCodec(deploymentID: data.keys.deploymentID), keys: data.keys, store: data.store,
            clock: data.clock, maxLifetime: settings.tokenMaxTTL,
            refusals: RefusedDownloadAudit(write: DownloadAudit.writer(data.service, outcome: "denied")))
        // Link usage transitions become webhook events (link.first_use, link.exhausted; Docs/webhooks.md).
        let webhookEvents = data.service.webhookEvents
        authorizer.linkEvents = { event in
            switch event {
            case .firstUse(let issue, let name, let client):
                webhookEvents.linkFirstUse(issue, protocol: name, client: client)
            case .exhausted(let issue, let bytesServed, let allowance):
                webhookEvents.linkExhausted(
                    issue, bytesServed: UInt64(clamping: bytesServed), allowance: UInt64(clamping: allowance))
            }
        }
        // The web console signs in with an API key and then uses a cookie for the API and tus uploads.
        let sessions = ConsoleSessions(
            settings: settings.console, service: data.service, retention: settings.recycleRetention,
            linkTTL: settings.tokenDefaultTTL, linkMaxTTL: settings.tokenMaxTTL, clock: data.clock)
        var api = data.managementAPI
        api.sessions = sessions
        var uploads = TusHandler(imports: data.imports, service: data.service)
        uploads.sessions = sessions
        let gate = StartupGate()
        // Filled once the TLS context exists (the self-signed certificate is created with it).
        let caRoute = CACertificateRoute(nil)
        // Readiness and metrics (Operations/): the gauges read the listeners once they exist.
        let health: HealthMonitor
        if let s3 = data.blobs as? S3BlobStore {
            health = HealthMonitor(catalog: data.store, blobCheck: { s3.readinessProblem() })
        } else {
            health = HealthMonitor(catalog: data.store, blobDirectory: settings.blobDirectory)
        }
        let live = LiveListeners()
        let operations = OperationsEndpoints(health: health, catalog: data.store, listenerGauges: live.gauges)
        var handler = RootHandler(
            downloads: DownloadHandler(
                authorizer: authorizer, blobs: data.blobs, logger: logger, clock: data.clock,
                audit: DownloadAudit.writer(data.service)),
            api: api, uploads: uploads, console: ConsoleHandler(), gate: gate, operations: operations)
        handler.caCertificate = caRoute
        let listener: HTTPListener
        do {
            listener = try HTTPListener.start(
                address: settings.httpListen, config: settings.http, handler: handler, accessLog: accessLog,
                logger: logger)
        } catch {
            throw GateError.io("cannot listen on \(settings.httpListen): \(error)")
        }
        let tls = TLSContextHolder(try loadTLSContext(settings))
        caRoute.replace(with: CACertificate.read(settings))
        let secureListener: HTTPListener
        do {
            secureListener = try HTTPListener.start(
                address: settings.httpsListen, config: settings.http, handler: handler, accessLog: accessLog,
                logger: logger, tls: tls)
        } catch {
            listener.stop()
            throw GateError.io("cannot listen on \(settings.httpsListen): \(error)")
        }
        var bound = settings.httpListen
        bound.port = listener.port
        var boundTLS = settings.httpsListen
        boundTLS.port = secureListener.port
        // FTP/FTPS front (Serve/FTPFront.swift).
        let ftp: (FTPListener, ListenAddress)?
        do {
            ftp = try FTPFront.start(
                settings, authorizer: authorizer, blobs: data.blobs, accessLog: accessLog, logger: logger, tls: tls,
                audit: DownloadAudit.writer(data.service))
        } catch {
            listener.stop()
            secureListener.stop()
            throw error
        }
        // SFTP front (Serve/SFTPPolicy.swift).
        let sftp: SFTPListener
        do {
            sftp = try SFTPFront.start(
                settings, authorizer: authorizer, blobs: data.blobs, accessLog: accessLog, logger: logger,
                audit: DownloadAudit.writer(data.service))
        } catch {
            listener.stop()
            secureListener.stop()
            ftp?.0.stop()
            throw error
        }
        var sftpBound = settings.sftpListen
        sftpBound.port = sftp.port
        live.set(http: listener, https: secureListener, ftp: ftp?.0, sftp: sftp)
        let metrics: MetricsListener?
        do {
            metrics = try settings.metricsListen.map { (a: ListenAddress) throws(SystemError) in
                try MetricsListener.start(address: a, logger: logger, answer: operations.answer)
            }
        } catch {
            listener.stop()
            secureListener.stop()
            ftp?.0.stop()
            sftp.stop()
            throw GateError.io("cannot listen on \(settings.metricsListen.map(\.description) ?? "-"): \(error)")
        }
        var metricsBound = settings.metricsListen
        if let m = metrics { metricsBound?.port = m.port }
        var run = RunFile(
            pid: getpid(), http: bound.description, https: boundTLS.description, ftp: ftp?.1.description,
            startedAt: TimeFormat.rfc3339(data.clock.now()))
        run.sftp = sftpBound.description
        // Every process that mints links for this server (its API, a local `link mint`) follows this policy.
        run.links = LinkPolicy.of(settings)
        try run.write(to: settings.runFile)
        // Only now may HTTP (and so /healthz) answer: a script that waited for it mints links with these ports.
        gate.open()

        let ring = data.keys.keyring()
        print("imagegate \(ImageGateCLI.version) serving \(absolutePath(settings.dataDir))")
        print("catalog: \((try? CatalogLocation(settings))?.description ?? absolutePath(settings.catalogPath))")
        print("token keys: \(KeyCommands.storageText(data.keys)) (active key \(KeyCommands.kidText(ring.active.kid)))")
        print(
            "access log: \(accessLog == nil ? "off" : settings.accessLog == "-" ? "stdout" : absolutePath(settings.accessLogPath))"
        )
        print("tls certificate: \(absolutePath(tls.current.certificatePath)) (SHA-256 \(tls.current.fingerprint))")
        print("plain http links: \(settings.plainLinksEnabled ? "enabled" : "disabled (https only)")")
        let httpsBase =
            settings.httpsPublicURL.isEmpty
            ? "https://" + LinkBases.reachable(boundTLS.description) : settings.httpsPublicURL
        print("web console: \(httpsBase)\(ConsoleHandler.prefix)/ (sign in with an API key)")
        let keyAbsent = readTextFile(data.adminKeyPath) == nil
        print(
            "admin API key: \(absolutePath(data.adminKeyPath))"
                + (keyAbsent ? " (absent: written once at first start; 'imagegate apikey create' makes another)" : ""))
        print("CA certificate for downloaders: \(CACertificate.path) on the http and https listeners")
        print("http: listening on http://\(bound)")
        print("https: listening on https://\(boundTLS)")
        print(ftp.map { FTPFront.banner($0.1, settings) } ?? "ftp: off")
        print(metricsBound.map { "metrics: listening on http://\($0) (/metrics, /healthz, /readyz)" } ?? "metrics: off")
        for line in SFTPFront.banner(sftp, bound: sftpBound) { print(line) }
        StandardOutput.flush()

        // Every listener is bound: ready for systemd (Type=notify) and for /readyz.
        health.setListenersUp(true)
        let watchdog = ServiceNotify.watchdogMicroseconds() != nil
        health.start(tick: { if watchdog { ServiceNotify.send("WATCHDOG=1") } })
        defer { health.stop() }
        ServiceNotify.send("READY=1\nSTATUS=serving")
        data.imports.resume(resumable)
        data.imports.finishCompleteUploads()
        // URL imports created for this server to fetch (`image import --url --no-wait`), picked up at once.
        let pickup = URLImportPickup.start(imports: data.imports, logger: logger)
        defer { pickup.stop() }
        let retention = RetentionSweeper.start(
            service: data.service, imports: data.imports, orphans: orphans, logger: logger)
        defer { retention.stop() }
        let importSweep = ImportSweep.start(
            data.imports, intervalSeconds: settings.imports.sweepInterval, logger: logger)
        defer { importSweep.stop() }
        let scrub = BlobScrubber.start(
            service: data.service, bytesPerSecond: settings.imports.verifyRate,
            intervalSeconds: settings.imports.verifyInterval, logger: logger)
        defer { scrub?.stop() }
        // Webhook deliveries from the catalog's outbox (Docs/webhooks.md); every node runs one.
        let webhooks = WebhookWorker(store: data.store, clock: data.clock, logger: logger, settings: settings.webhooks)
        webhooks.start()
        defer { webhooks.stop() }
        while true {
            switch Signals.wait() {
            case .reload:
                do {
                    try accessLog?.reopen()
                    logger.info("SIGHUP: access log reopened")
                } catch {
                    logger.error("SIGHUP: \(error.message)")
                }
                do {
                    let fresh = try loadTLSContext(settings)
                    tls.replace(with: fresh)
                    caRoute.replace(with: CACertificate.read(settings))
                    // Links minted from now on pin the certificate now served.
                    run.links = LinkPolicy.of(settings)
                    do {
                        try run.write(to: settings.runFile)
                    } catch {
                        logger.error("SIGHUP: cannot rewrite the run file: \(error.message)")
                    }
                    logger.info("SIGHUP: TLS certificate reloaded (SHA-256 \(fresh.fingerprint))")
                } catch {
                    logger.error("SIGHUP: keeping the current TLS certificate: \(error.message)")
                }
            case .terminate:
                logger.info("stopping")
                ServiceNotify.send("STOPPING=1")
                health.setListenersUp(false)
                listener.stop()
                secureListener.stop()
                ftp?.0.stop()
                sftp.stop()
                metrics?.stop()
                RunFile.remove(settings.runFile)
                logger.info("stopped")
                return ExitCode.success
            }
        }
    }
}
