//===----------------------------------------------------------------------===//
// ImageGate: who may open an SSH connection: per-address rate and caps, pre-auth and session counts.
//===----------------------------------------------------------------------===//
import GateCore
import Synchronization

/// Counts connections per client address in two kinds, so that connections that never log in cannot use
/// up the slots of real sessions (Docs/sftp.md "Limits"):
/// - *unauthenticated*: accepted, key exchange or login still running. Capped per address and in total.
/// - *sessions*: logged in with a token. Capped per address and by `maxSessions`.
/// New connections per address also pass a token bucket (`connectionsPerSecond`, burst twice that) before
/// the server spends a key exchange on them (the DHEat pattern: many cheap connects, each costing a DH).
/// A connection that logs in gives its rate slot back: the rate binds connections that never present a valid
/// token, not scripts that log in many times a second with one.
final class ConnectionGate: Sendable {
    enum Refusal: String, Error {
        case rateLimited = "rate_limited"
        case unauthenticatedPerAddress = "preauth_address_cap"
        case unauthenticatedTotal = "preauth_cap"
        case sessionsPerAddress = "address_cap"
        case sessionsTotal = "session_cap"

        /// The access log's word for this refusal (the same as the raw value).
        var outcome: AccessOutcome {
            switch self {
            case .rateLimited: .rateLimited
            case .unauthenticatedPerAddress: .preauthAddressCap
            case .unauthenticatedTotal: .preauthCap
            case .sessionsPerAddress: .addressCap
            case .sessionsTotal: .sessionCap
            }
        }
    }

    struct Limits: Sendable {
        var maxSessions: Int
        var maxSessionsPerAddress: Int
        var maxUnauthenticated: Int
        var maxUnauthenticatedPerAddress: Int
        var connectionsPerSecond: Int
    }

    private struct Address {
        var unauthenticated = 0
        var sessions = 0
        var tokens: Double
        var refilledMs: Int64
    }

    private struct State {
        var addresses: [String: Address] = [:]
        var unauthenticated = 0
        var sessions = 0
    }

    let limits: Limits
    private let state = Mutex(State())

    init(_ limits: Limits) { self.limits = limits }

    private var burst: Double { Double(limits.connectionsPerSecond * 2) }

    /// A new TCP connection from `host`: counted as unauthenticated, or refused (the caller closes it
    /// before sending anything).
    func admit(_ host: String, nowMs: Int64 = Monotonic.milliseconds()) -> Refusal? {
        state.withLock { s in
            var a = s.addresses[host] ?? Address(tokens: burst, refilledMs: nowMs)
            let elapsed = Double(max(0, nowMs - a.refilledMs)) / 1000
            a.tokens = min(burst, a.tokens + elapsed * Double(limits.connectionsPerSecond))
            a.refilledMs = nowMs
            defer { s.addresses[host] = a.unauthenticated + a.sessions > 0 || a.tokens < burst ? a : nil }
            guard a.tokens >= 1 else { return .rateLimited }
            a.tokens -= 1
            guard a.unauthenticated < limits.maxUnauthenticatedPerAddress else { return .unauthenticatedPerAddress }
            guard s.unauthenticated < limits.maxUnauthenticated else { return .unauthenticatedTotal }
            a.unauthenticated += 1
            s.unauthenticated += 1
            if s.addresses.count > 10_000 {
                s.addresses = s.addresses.filter { $0.value.unauthenticated + $0.value.sessions > 0 }
            }
            return nil
        }
    }

    /// A connection from `host` logged in: it moves from unauthenticated to sessions, or is refused (and
    /// stays unauthenticated until it ends).
    func promote(_ host: String) -> Refusal? {
        state.withLock { s in
            guard var a = s.addresses[host] else { return .sessionsTotal }
            guard a.sessions < limits.maxSessionsPerAddress else { return .sessionsPerAddress }
            guard s.sessions < limits.maxSessions else { return .sessionsTotal }
            a.unauthenticated -= 1
            a.sessions += 1
            a.tokens = min(burst, a.tokens + 1)
            s.unauthenticated -= 1
            s.sessions += 1
            s.addresses[host] = a
            return nil
        }
    }

    /// A connection from `host` ended (`promoted`: it had become a session).
    func release(_ host: String, promoted: Bool) {
        state.withLock { s in
            guard var a = s.addresses[host] else { return }
            if promoted {
                a.sessions -= 1
                s.sessions -= 1
            } else {
                a.unauthenticated -= 1
                s.unauthenticated -= 1
            }
            s.addresses[host] = a
        }
    }

    var counts: (unauthenticated: Int, sessions: Int) { state.withLock { ($0.unauthenticated, $0.sessions) } }
}
