//===----------------------------------------------------------------------===//
// ImageGate: where the catalog lives: `catalog.url` / `--catalog URL` (Docs/deployment.md).
//===----------------------------------------------------------------------===//
import GateCore
import PostgresClient

/// The catalog a command opens.
///
/// - `""` (the default): the data directory's own SQLite file, `<data_dir>/catalog.sqlite3`.
/// - `sqlite:///ABSOLUTE/PATH`: a SQLite file elsewhere. Several processes on ONE host may share it (SQLite
///   locks the file), which is how nodes on one machine can share a catalog without a database server;
///   never on a network file system, where SQLite's locks do not hold.
/// - `postgres://USER:PASS@HOST:PORT/DB?sslmode=…` (or `postgresql://`): a PostgreSQL database shared by
///   every node. Without a password in the URL libpq takes `PGPASSWORD` or `~/.pgpass`, which keeps the
///   password off command lines.
enum CatalogLocation: Sendable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresURL)

    init(_ settings: Settings) throws(GateError) {
        let url = settings.catalogURL
        if url.isEmpty {
            self = .sqlite(path: settings.catalogPath)
        } else if url.hasPrefix("sqlite://") {
            let path = settings.catalogPath  // the one place that reads the path out of the URL
            guard path.hasPrefix("/"), path.count > 1, !path.hasSuffix("/") else {
                throw GateError.usage("catalog.url: a SQLite catalog is sqlite:///ABSOLUTE/PATH/FILE")
            }
            self = .sqlite(path: path)
        } else if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            do {
                self = .postgres(try PostgresURL(url))
            } catch {
                // The parser's message names the problem, never the URL (it may hold a password).
                throw GateError.usage("catalog.url: \(error.message)")
            }
        } else {
            throw GateError.usage("catalog.url: expected postgres://…, postgresql://… or sqlite:///PATH")
        }
    }

    /// Whether the catalog is the data directory's own file (the embedded default): only then do the
    /// data directory's start-up guards and key files apply as they always did.
    func isEmbedded(_ settings: Settings) -> Bool {
        if case .sqlite(let path) = self { return path == settings.embeddedCatalogPath }
        return false
    }

    /// For messages and logs: a path, or the URL with its password replaced by `***`.
    var description: String {
        switch self {
        case .sqlite(let path): return absolutePath(path)
        case .postgres(let url): return url.redacted
        }
    }
}
