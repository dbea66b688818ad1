//===----------------------------------------------------------------------===//
// ImageGate: every setting, its default, and where it came from.
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import ImportPipeline
import SFTPServer
import SystemIO
import URLFetcher

/// The resolved configuration: built-in defaults, then the config file, then command-line flags.
/// `Config/imagegate.conf.example` lists every key with its default; `SettingKey.all` is the source of truth
/// and a test checks the example file against it.
public struct Settings: Sendable {
    public var dataDir = "./data"
    public var httpListen = ListenAddress(host: "127.0.0.1", port: 8080)
    /// Base of minted HTTP links (`http://host:port`); empty means derived from the running listener.
    public var httpPublicURL = ""
    public var http = HTTPServerConfig()
    public var httpsListen = ListenAddress(host: "127.0.0.1", port: 8443)
    /// Base of minted HTTPS links (`https://host:port`); empty means derived from the running listener.
    public var httpsPublicURL = ""
    /// PEM certificate chain and key for HTTPS (and FTPS); empty means a self-signed pair in `<data_dir>/tls`.
    public var tlsCertificate = ""
    public var tlsPrivateKey = ""
    /// Whether minted links also work over plain HTTP: `auto` (only while http.listen is a loopback
    /// address), `true` or `false`.
    public var plainHTTPLinks = "auto"
    /// How long deleted images stay in the recycle bin before they are destroyed.
    public var recycleRetention: Int64 = 7 * 86_400
    /// Start-up integrity check and orphan-blob quarantine (`catalog.*`, Settings+Catalog.swift).
    var catalogGuards = CatalogGuardSettings()
    /// Imports (`imports.*`, Settings+Imports.swift).
    var imports = ImportSettings()
    /// Webhook deliveries (`webhooks.*`, Settings+Webhooks.swift).
    var webhooks = WebhookSettings()
    /// The web console (`console.*`, Settings+Console.swift).
    var console = ConsoleSettings()
    public var tokenDefaultTTL: Int64 = 86_400
    public var tokenMaxTTL: Int64 = 7 * 86_400
    public var logLevel: Logger.Level = .info
    /// `""` = `<data_dir>/logs/access.log`; `-` = standard output; `off` = none.
    public var accessLog = ""
    /// FTP/FTPS front (`ftp.*`, Config/Settings+FTP.swift).
    public var ftp = FTPSettings()
    // SFTP front (keys in SFTPSettings.swift).
    public var sftpListen = ListenAddress(host: "127.0.0.1", port: 2222)
    /// The metrics and health listener (`metrics.listen`, Settings+Metrics.swift); nil = off.
    public var metricsListen: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 9464)
    public var sftp = SFTPConfig()
    /// `node.id` (Settings+Cluster.swift): empty = the host name.
    var nodeID = ""
    /// `sftp.public_host`: where minted SFTP links point instead of this node's listener (a balancer).
    var sftpPublicHost: PublicHost? = nil

    public init() {}

    /// `catalog.url` / `--catalog URL`: empty = the data directory's SQLite file (CatalogLocation).
    public var catalogURL = ""
    /// `blobs.url`: empty = the data directory; `file:///PATH` = a blob directory elsewhere (Settings+Blobs.swift).
    public var blobsURL = ""
    /// `blobs.credentials_file`, `blobs.ca_file`, `blobs.timeout`, `blobs.part_size` (Settings+Blobs.swift).
    var objectStore = ObjectStoreSettings()
    /// `cache.*`: the read cache of an object-store blob store (Settings+Cache.swift).
    public var cache = CacheSettings()
    /// The SQLite catalog file when the catalog is SQLite (the data directory's, or a `sqlite:///` URL's).
    public var catalogPath: String {
        catalogURL.hasPrefix("sqlite://") ? String(catalogURL.dropFirst("sqlite://".count)) : embeddedCatalogPath
    }
    /// The data directory's own catalog file (the embedded default).
    public var embeddedCatalogPath: String { dataDir + "/catalog.sqlite3" }
    public var keysDir: String { dataDir + "/keys" }
    public var runFile: String { dataDir + "/run/server.json" }
    public var tlsDir: String { dataDir + "/tls" }

    /// Plain HTTP links are opt-in: on by default only while the HTTP listener is reachable from this machine
    /// alone, because a token crossing a network in clear text is a stolen download.
    public var plainLinksEnabled: Bool {
        switch plainHTTPLinks {
        case "true": return true
        case "false": return false
        default:
            let h = httpListen.host
            return h == "localhost" || h == "::1" || h.hasPrefix("127.")
        }
    }
    public var sshHostKeyDir: String { dataDir + "/ssh" }
    public var accessLogPath: String { accessLog.isEmpty ? dataDir + "/logs/access.log" : accessLog }
}

/// One configuration key: its name, default as text, help line, and how it applies itself.
struct SettingKey: Sendable {
    let name: String
    let defaultText: String
    let help: String
    let apply: @Sendable (inout Settings, String) throws(GateError) -> Void

    static func duration(_ v: String, _ key: String) throws(GateError) -> Int64 {
        guard let d = DurationText.parse(v), d > 0 else {
            throw GateError.usage("\(key): expected a duration like 30s, 10m, 24h or 7d, got \(JSONText.quote(v))")
        }
        return d
    }

    /// Every boolean setting reads the same words: true, yes or on; false, no or off. Anything else is refused
    /// with the key and the accepted words.
    static func boolean(_ v: String, _ key: String) throws(GateError) -> Bool {
        switch v {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            throw GateError.usage(
                "\(key): expected true or false (also yes/no, on/off), got \(JSONText.quote(v))")
        }
    }

    /// Comma-separated CIDRs (`imports.allow_private`, `webhooks.allow_private`); one that is not an address
    /// range is refused with the key and the value, never dropped.
    static func addressRanges(_ v: String, _ key: String) throws(GateError) -> [String] {
        let ranges = v.split(separator: ",").map { String($0.trimmingWhitespace()) }.filter { !$0.isEmpty }
        for r in ranges where AddressRange(cidr: r) == nil {
            throw GateError.usage("\(key): \(JSONText.quote(r)) is not an address range like 10.1.0.0/16")
        }
        return ranges
    }

    static func count(_ v: String, _ key: String, min: Int = 0) throws(GateError) -> Int {
        guard let n = Int(v), n >= min else {
            throw GateError.usage("\(key): expected a whole number ≥ \(min), got \(JSONText.quote(v))")
        }
        return n
    }

    static let all: [SettingKey] =
        [
            SettingKey(name: "data_dir", defaultText: "./data", help: "Catalog, blobs, keys and logs live here.") {
                s, v throws(GateError) in s.dataDir = v
            },
            SettingKey(name: "http.listen", defaultText: "127.0.0.1:8080", help: "HOST:PORT of the HTTP listener.") {
                s, v throws(GateError) in
                guard let a = ListenAddress(v) else {
                    throw GateError.usage("http.listen: expected HOST:PORT, got \(v)")
                }
                s.httpListen = a
            },
            SettingKey(
                name: "http.public_url", defaultText: "",
                help:
                    "Base URL put in minted links, e.g. http://images.example.com:8080 (empty: the listener's address)."
            ) { s, v throws(GateError) in
                guard v.isEmpty || v.hasPrefix("http://") || v.hasPrefix("https://") else {
                    throw GateError.usage("http.public_url: must start with http:// or https://")
                }
                s.httpPublicURL = v.hasSuffix("/") ? String(v.dropLast()) : v
            },
            SettingKey(
                name: "http.plain_links", defaultText: "auto",
                help: "Links usable over plain HTTP: auto (only while http.listen is loopback), true or false."
            ) { s, v throws(GateError) in
                guard v != "auto" else {
                    s.plainHTTPLinks = v
                    return
                }
                do {
                    s.plainHTTPLinks = String(try boolean(v, "http.plain_links"))
                } catch {
                    throw GateError.usage(
                        "http.plain_links: expected auto, true or false (also yes/no, on/off), got \(JSONText.quote(v))"
                    )
                }
            },
            SettingKey(name: "https.listen", defaultText: "127.0.0.1:8443", help: "HOST:PORT of the HTTPS listener.") {
                s, v throws(GateError) in
                guard let a = ListenAddress(v) else {
                    throw GateError.usage("https.listen: expected HOST:PORT, got \(v)")
                }
                s.httpsListen = a
            },
            SettingKey(
                name: "https.public_url", defaultText: "",
                help: "Base URL put in minted HTTPS links (empty: the HTTPS listener's address)."
            ) { s, v throws(GateError) in
                guard v.isEmpty || v.hasPrefix("https://") else {
                    throw GateError.usage("https.public_url: must start with https://")
                }
                s.httpsPublicURL = v.hasSuffix("/") ? String(v.dropLast()) : v
            },
            SettingKey(
                name: "tls.certificate", defaultText: "",
                help: "PEM certificate chain for HTTPS and FTPS (empty: self-signed, generated in <data_dir>/tls)."
            ) { s, v throws(GateError) in s.tlsCertificate = v },
            SettingKey(name: "tls.private_key", defaultText: "", help: "PEM private key of tls.certificate.") {
                s, v throws(GateError) in s.tlsPrivateKey = v
            },
            SettingKey(name: "http.loops", defaultText: "0", help: "Event-loop threads (0: one per CPU).") {
                s, v throws(GateError) in s.http.loops = try count(v, "http.loops")
            },
            SettingKey(name: "http.header_timeout", defaultText: "20s", help: "Deadline for a whole request head.") {
                s, v throws(GateError) in s.http.headerTimeoutMs = try duration(v, "http.header_timeout") * 1000
            },
            SettingKey(name: "http.idle_timeout", defaultText: "30s", help: "Keep-alive idle time before closing.") {
                s, v throws(GateError) in s.http.idleTimeoutMs = try duration(v, "http.idle_timeout") * 1000
            },
            SettingKey(
                name: "http.send_timeout", defaultText: "60s",
                help: "Close when a client accepts no byte for this long."
            ) { s, v throws(GateError) in s.http.sendTimeoutMs = try duration(v, "http.send_timeout") * 1000 },
            SettingKey(
                name: "http.max_requests_per_connection", defaultText: "1000",
                help: "Requests on one keep-alive connection."
            ) { s, v throws(GateError) in
                s.http.maxRequestsPerConnection = try count(v, "http.max_requests_per_connection", min: 1)
            },
            SettingKey(name: "http.max_connections", defaultText: "10000", help: "Open connections in all.") {
                s, v throws(GateError) in s.http.maxConnections = try count(v, "http.max_connections", min: 1)
            },
            SettingKey(
                name: "http.max_connections_per_peer", defaultText: "256", help: "Open connections from one address."
            ) { s, v throws(GateError) in
                s.http.maxConnectionsPerPeer = try count(v, "http.max_connections_per_peer", min: 1)
            },
            SettingKey(
                name: "catalog.recycle_retention", defaultText: "7d",
                help: "How long deleted images stay in the recycle bin before they are destroyed for good."
            ) { s, v throws(GateError) in s.recycleRetention = try duration(v, "catalog.recycle_retention") },
            SettingKey(name: "tokens.default_ttl", defaultText: "24h", help: "Lifetime of a minted link.") {
                s, v throws(GateError) in s.tokenDefaultTTL = try duration(v, "tokens.default_ttl")
            },
            SettingKey(
                name: "tokens.max_ttl", defaultText: "7d",
                help: "Longest lifetime a link may be minted with; old keys verify this long after a rotation."
            ) { s, v throws(GateError) in s.tokenMaxTTL = try duration(v, "tokens.max_ttl") },
            SettingKey(name: "log.level", defaultText: "info", help: "debug, info, warn or error.") {
                s, v throws(GateError) in
                switch v {
                case "debug": s.logLevel = .debug
                case "info": s.logLevel = .info
                case "warn", "warning": s.logLevel = .warning
                case "error": s.logLevel = .error
                default: throw GateError.usage("log.level: expected debug, info, warn or error")
                }
            },
            SettingKey(
                name: "log.access", defaultText: "",
                help: "Access log file (empty: <data_dir>/logs/access.log; '-': standard output; 'off': none)."
            ) { s, v throws(GateError) in s.accessLog = v },
        ] + SettingKey.catalogGuards + SettingKey.blobs + SettingKey.ftp + sftpKeys + SettingKey.imports
        + SettingKey.console + SettingKey.metrics + SettingKey.cluster + SettingKey.webhooks + SettingKey.cache

    static func named(_ name: String) -> SettingKey? { all.first { $0.name == name } }
}

extension Settings {
    /// Applies a config file's `key = value` lines. `#` starts a comment; blank lines are ignored; an
    /// unknown key is an error (a typo must not silently fall back to a default).
    mutating func apply(configText: String, source: String) throws(GateError) {
        var lineNumber = 0
        for raw in configText.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw GateError.usage("\(source):\(lineNumber): expected key = value")
            }
            let key = String(trimmed[..<eq].trimmingWhitespace())
            let value = String(trimmed[trimmed.index(after: eq)...].trimmingWhitespace())
            guard let setting = SettingKey.named(key) else {
                throw GateError.usage("\(source):\(lineNumber): unknown setting \(JSONText.quote(key))")
            }
            do {
                try setting.apply(&self, value)
            } catch {
                throw GateError.usage("\(source):\(lineNumber): \(error.message)")
            }
        }
        if tlsCertificate.isEmpty != tlsPrivateKey.isEmpty {
            throw GateError.usage("\(source): tls.certificate and tls.private_key go together")
        }
        if tokenDefaultTTL > tokenMaxTTL {
            throw GateError.usage("\(source): tokens.default_ttl is longer than tokens.max_ttl")
        }
        do {
            try cache.validate()
        } catch {
            throw GateError.usage("\(source): \(error.message)")
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}
