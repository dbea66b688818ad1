//===----------------------------------------------------------------------===//
// ImageGate: LISTEN/NOTIFY, so one node can tell the others "look again" (revocations, key rotation).
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLibPQ
import GateCore
import SystemIO

/// A NOTIFY received on a channel this session listens to.
public struct PostgresNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    /// The server process of the session that sent it.
    public let senderPID: Int32
}

extension PostgresConnection {
    /// Subscribes this session to `channel` (https://www.postgresql.org/docs/15/sql-listen.html). A listening
    /// connection is kept by its owner, waiting in `nextNotification`; it is never returned to a pool,
    /// whose idle check would discard what arrives.
    public func listen(_ channel: String) throws(PostgresError) {
        try execute(script: "LISTEN \(try Self.channelIdentifier(channel))")
    }

    public func unlisten(_ channel: String) throws(PostgresError) {
        try execute(script: "UNLISTEN \(try Self.channelIdentifier(channel))")
    }

    /// Sends `payload` to every session listening on `channel`; delivered when the sending transaction
    /// commits (at once outside a transaction). Payloads are limited to 8000 bytes by the server.
    public func notify(_ channel: String, payload: String = "") throws(PostgresError) {
        _ = try Self.channelIdentifier(channel)
        try query("SELECT pg_notify($1, $2)", [.text(channel), .text(payload)])
    }

    /// The next notification, waiting up to `timeoutMilliseconds` for one; nil when none came in time.
    /// Blocks the thread (see the type's note on threads).
    public func nextNotification(timeoutMilliseconds: Int) throws(PostgresError) -> PostgresNotification? {
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        while true {
            let conn = try handle()
            // Already read from the socket by an earlier call or statement?
            if let n = PQnotifies(conn) {
                defer { PQfreemem(n) }
                return PostgresNotification(
                    channel: String(cString: n.pointee.relname), payload: String(cString: n.pointee.extra),
                    senderPID: n.pointee.be_pid)
            }
            let left = deadline - Monotonic.milliseconds()
            guard left > 0 else { return nil }
            var p = [pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)]
            let ready: Int
            do {
                ready = try Poll.wait(&p, timeoutMs: Int32(min(left, Int64(Int32.max))))
            } catch {
                throw PostgresError(.connectionLost, "poll on the catalog connection failed (errno \(error.errno))")
            }
            if ready > 0 && (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
                let text = PostgresConnection.oneLine(PQerrorMessage(conn))
                close()
                throw PostgresError(.connectionLost, "catalog connection lost while listening: \(text)")
            }
        }
    }

    /// Channel names are identifiers ImageGate chooses: lower-case letters, digits and underscores, so the
    /// unquoted name in LISTEN is the same string `pg_notify` takes.
    static func channelIdentifier(_ channel: String) throws(PostgresError) -> String {
        guard PostgresIdentifier.isPlain(channel) else {
            throw .misuse("a notification channel must be a lower-case identifier")
        }
        return channel
    }
}
