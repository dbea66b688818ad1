//===----------------------------------------------------------------------===//
// ImageGate: `download.refused` audit records for authentic links that were refused, rate-limited.
//===----------------------------------------------------------------------===//
import DownloadTokens
import GateCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A refused download of a link whose MAC verifies (expired, revoked, exhausted, wrong network address) is
/// audited as `download.refused` with the reason (`LinkRefusal` raw value), the protocol name and the client
/// address (Docs/links.md "Refused links"). A client that retries in a loop, or a scanner replaying one
/// captured link, must not fill the log: at most one record per (serial, reason, client address) per
/// `windowSeconds` on each node. Forged or guessed tokens never get here (their MAC does not verify), so the
/// keys are bounded by the links really minted; the table is still capped (`maxKeys`), and when it is full of
/// live keys a new key is not audited until the oldest expire (the debug log still names it).
final class RefusedDownloadAudit: Sendable {
    /// Seconds between two records of the same (serial, reason, address).
    static let windowSeconds: Int64 = 600
    /// Distinct keys remembered at once.
    static let maxKeys = 10_000

    /// (action, target, tenant, source, detail): `DownloadAudit.refusalWriter` in `serve`, a recorder in tests.
    let write: @Sendable (String, String, TenantID?, String, [String: String]) -> Void
    /// The rate limit's key: compared as values, no text made for a refusal that is not written (a client retrying
    /// an expired link in a loop).
    struct Key: Hashable {
        let serial: ID128
        let refusal: LinkRefusal
        let client: String
    }
    private let lastWritten = Mutex<[Key: Int64]>([:])

    init(write: @escaping @Sendable (String, String, TenantID?, String, [String: String]) -> Void) {
        self.write = write
    }

    /// Writes the record unless the same key was written within the window. `now` is wall-clock seconds.
    func record(_ refusal: LinkRefusal, claims: TokenClaims, protocolName: String, client: String, now: Int64) {
        record(
            refusal, serial: claims.serial, image: claims.image, tenant: claims.tenant, protocolName: protocolName,
            client: client, now: now)
    }

    /// The same for a grant of a session already open (an FTP RETR after the link expired or was revoked).
    func record(
        _ refusal: LinkRefusal, serial: ID128, image: ImageID, tenant: TenantID, protocolName: String, client: String,
        now: Int64
    ) {
        guard admit(Key(serial: serial, refusal: refusal, client: client), now: now) else { return }
        write(
            "download.refused", image.description, tenant, client,
            [
                "serial": serial.hex, "reason": refusal.rawValue, "protocol": protocolName, "client": client,
            ])
    }

    /// Whether `key` may be written now; remembers it when so.
    func admit(_ key: Key, now: Int64) -> Bool {
        lastWritten.withLock { seen in
            if let last = seen[key], now - last < Self.windowSeconds { return false }
            if seen[key] == nil && seen.count >= Self.maxKeys {
                seen = seen.filter { now - $0.value < Self.windowSeconds }
                if seen.count >= Self.maxKeys { return false }
            }
            seen[key] = now
            return true
        }
    }

    /// `203.0.113.7` or `2001:db8::1` for a 4- or 16-byte client address; "unknown" otherwise.
    static func addressText(_ bytes: [UInt8]?) -> String {
        guard let bytes, bytes.count == 4 || bytes.count == 16 else { return "unknown" }
        var text = [CChar](repeating: 0, count: 64)
        let af = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(af, bytes, &text, socklen_t(text.count)) != nil else { return "unknown" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
