//===----------------------------------------------------------------------===//
// ImageGate: the PostgreSQL catalog's answers to /readyz and /metrics (CatalogHealth).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog
import PostgresClient

extension PostgresCatalogStore {
    /// A trivial read of the images table on a pooled session, cancelled by the server after `timeoutMs`
    /// (`SET LOCAL statement_timeout`): an unreachable server, a lost session that cannot be replaced or a
    /// table locked past the timeout all make the node not ready.
    public func readinessProbe(timeoutMs: Int32) throws(GateError) {
        try withConnection { c in
            try c.transaction { _ in
                // SET takes no parameters; the value is our own integer.
                try c.query(composed: "SET LOCAL statement_timeout = \(max(1, Int(timeoutMs)))")
                try c.query("SELECT count(*) FROM (SELECT 1 FROM images LIMIT 1) AS probe")
            }
        }
    }

    public func imageTotals() throws(GateError) -> [(status: String, images: Int64, bytes: Int64)] {
        try withConnection { c in
            // sum(int8) is numeric: cast back, as SQLite's integer sum is.
            try c.query("SELECT status, count(*), coalesce(sum(size), 0)::int8 FROM images GROUP BY status")
                .rows.map { row in (try row.string(0), try row.int64(1), try row.int64(2)) }
        }
    }
}
