//===----------------------------------------------------------------------===//
// ImageGate: what the listener knows about each session: deadlines, the cut switch, caps.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import Synchronization
import SystemIO

/// The part of a session other threads may touch. libssh blocks inside reads and writes (a stalled window,
/// an idle client), and one session must never be used from two threads (libssh doc/threading.dox), so the
/// only thing another thread does is `shutdown(2)` the socket: every blocked libssh call then fails and
/// the session thread unwinds by itself (Docs/sftp-notes.md §6, the verified watchdog workaround).
final class SessionControl: Sendable {
    struct State {
        var fd: Int32
        var closed = false
        var deadlineMs: Int64 = .max
        var deadlineReason = AccessOutcome.idleTimeout
        var cutReason: AccessOutcome?
    }

    let id: Int
    let peer: PeerAddress
    private let state: Mutex<State>

    init(id: Int, fd: Int32, peer: PeerAddress) {
        self.id = id
        self.peer = peer
        state = Mutex(State(fd: fd))
    }

    /// Sets when the watchdog cuts the session and what the access log will say.
    func arm(_ ms: Int64, reason: AccessOutcome) {
        let at = Monotonic.milliseconds() + ms
        state.withLock {
            $0.deadlineMs = at
            $0.deadlineReason = reason
        }
    }

    var cutReason: AccessOutcome? { state.withLock { $0.cutReason } }

    /// Ends the session from any thread: records why (first reason wins) and shuts the socket down.
    func cut(_ reason: AccessOutcome) {
        state.withLock {
            if $0.cutReason == nil { $0.cutReason = reason }
            // The fd is closed only by ssh_free on the session thread, after `markClosed`; checking `closed`
            // under the lock means a recycled descriptor number is never shut down by mistake.
            if !$0.closed { Socket.shutdown($0.fd) }
        }
    }

    /// Called by the watchdog: cuts the session if its deadline has passed.
    func checkDeadline(now: Int64) {
        let reason: AccessOutcome? = state.withLock {
            $0.deadlineMs <= now && $0.cutReason == nil ? $0.deadlineReason : nil
        }
        if let reason { cut(reason) }
    }

    /// Called by the session thread just before libssh closes the descriptor.
    func markClosed() { state.withLock { $0.closed = true } }
}

/// Live sessions, their threads, and the per-token counts.
final class SessionRegistry: Sendable {
    private struct State {
        var sessions: [Int: SessionControl] = [:]
        var threads: [Int: OSThread] = [:]
        var finished: [Int] = []
        var perToken: [String: Int] = [:]
        var nextID = 1
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.sessions.count } }

    func add(fd: Int32, peer: PeerAddress) -> SessionControl {
        state.withLock {
            let c = SessionControl(id: $0.nextID, fd: fd, peer: peer)
            $0.nextID += 1
            $0.sessions[c.id] = c
            return c
        }
    }

    func attach(_ thread: OSThread, to id: Int) { state.withLock { $0.threads[id] = thread } }

    /// The session thread's last act: its thread is joined later by the listener thread.
    func finish(_ id: Int) {
        state.withLock {
            $0.sessions[id] = nil
            $0.finished.append(id)
        }
    }

    /// Joins the threads of sessions that have ended.
    func reap() {
        let done: [OSThread] = state.withLock { s in
            let ids = s.finished.filter { s.threads[$0] != nil }
            s.finished.removeAll { s.threads[$0] != nil }
            return ids.compactMap { s.threads.removeValue(forKey: $0) }
        }
        for t in done { t.join() }
    }

    func all() -> [SessionControl] { state.withLock { Array($0.sessions.values) } }

    /// Takes one of `limit` slots for a token; false if they are all in use.
    func acquire(_ key: String, limit: Int) -> Bool {
        state.withLock {
            let n = $0.perToken[key, default: 0]
            guard n < limit else { return false }
            $0.perToken[key] = n + 1
            return true
        }
    }

    func release(_ key: String) {
        state.withLock {
            let n = $0.perToken[key, default: 1] - 1
            $0.perToken[key] = n > 0 ? n : nil
        }
    }
}
