//===----------------------------------------------------------------------===//
// ImageGate: one SSH connection on its own thread: key exchange, token login, the `sftp` subsystem only.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLibSSH
import GateCore
import SystemIO

/// One accepted connection, confined to its session thread for its whole life (libssh: a session and its
/// channels are never used from two threads at once, doc/threading.dox). libssh calls back into it through
/// `userdata` (Docs/style.md §3.1); the callback structs live on the heap until `ssh_free`.
final class SSHSession {
    let ctx: ListenerContext
    let control: SessionControl
    let session: ssh_session
    let startMs = Monotonic.milliseconds()

    var file: ServedFile?
    /// The granted blob, opened once at login (a deleted blob stays readable until revalidation ends the session).
    var blob: (any BlobReader)?
    var capKey: String?
    var channel: ssh_channel?
    var subsystemReady = false
    var failures = 0
    /// Set when a valid token was refused for a limit: the client is told why and the connection ends
    /// (never counted as a failed login, Docs/sftp.md "Authentication").
    var refusal: String?
    /// Why a logged-in session was ended (its link was revoked): told to the client as the channel closes.
    var endMessage: String?
    var promoted = false
    var userLog = "-"
    var outcome = AccessOutcome.authFailed
    var bytesSent: UInt64 = 0
    /// What of `bytesSent` the policy has been told for the link's usage.
    var usage = UsageReporter()

    private let serverCallbacks = UnsafeMutablePointer<ssh_server_callbacks_struct>.allocate(capacity: 1)
    private let channelCallbacks = UnsafeMutablePointer<ssh_channel_callbacks_struct>.allocate(capacity: 1)

    init(ctx: ListenerContext, control: SessionControl, session: ssh_session) {
        self.ctx = ctx
        self.control = control
        self.session = session
        serverCallbacks.initialize(to: ssh_server_callbacks_struct())
        channelCallbacks.initialize(to: ssh_channel_callbacks_struct())
    }

    deinit {
        serverCallbacks.deallocate()
        channelCallbacks.deallocate()
    }

    /// The whole session; returns when it has ended and everything it held is released.
    func run() {
        defer { finish() }
        // The pre-auth deadline: a connection that does not finish its key exchange soon is cut (named after
        // whichever deadline is the earlier one).
        if ctx.config.kexTimeoutMs < ctx.config.loginTimeoutMs {
            control.arm(ctx.config.kexTimeoutMs, reason: .kexTimeout)
        } else {
            control.arm(ctx.config.loginTimeoutMs, reason: .loginTimeout)
        }
        // Before the key exchange, not after: libssh keeps parsing whatever the same read() brought in once
        // NEWKEYS has arrived, inside ssh_handle_key_exchange. libssh2 (curl) sends NEWKEYS and its
        // SERVICE_REQUEST back to back; when both land in one read, a session without callbacks yet parks
        // the request on its internal message list (ssh_message_queue), nobody answers SERVICE_ACCEPT, and
        // the client waits until the login timeout. With the callbacks in place every message is answered.
        installCallbacks()
        guard ssh_handle_key_exchange(session) == SSH_OK else {
            outcome = control.cutReason ?? .kexFailed
            ctx.logger.debug("sftp \(control.peer): key exchange failed: \(lastError)")
            return
        }
        control.arm(ctx.config.loginTimeoutMs - (Monotonic.milliseconds() - startMs), reason: .loginTimeout)
        guard login() else {
            if let r = control.cutReason { outcome = r }
            return
        }
        outcome = .completed
        SFTPChannelLoop(session: self).run()
    }

    var lastError: String { String(cString: ssh_get_error(UnsafeMutableRawPointer(session))) }

    /// Hands libssh the server callbacks (auth, channel open) and the message callback, and sets the auth
    /// methods. Must happen before `ssh_handle_key_exchange` (see `run`): a message that arrives with no
    /// callback installed is queued for `ssh_message_get`, which we never call, and is never answered.
    private func installCallbacks() {
        let me = Unmanaged.passUnretained(self).toOpaque()
        serverCallbacks.pointee.size = MemoryLayout<ssh_server_callbacks_struct>.size  // ssh_callbacks_init
        serverCallbacks.pointee.userdata = me
        serverCallbacks.pointee.auth_password_function = { _, user, password, ud in
            let s = Unmanaged<SSHSession>.fromOpaque(ud!).takeUnretainedValue()
            let ok = s.tryToken(password.map { String(cString: $0) } ?? "", user: user, route: "password")
            return ok ? SSH_AUTH_SUCCESS.rawValue : SSH_AUTH_DENIED.rawValue
        }
        serverCallbacks.pointee.auth_none_function = { _, user, ud in
            let s = Unmanaged<SSHSession>.fromOpaque(ud!).takeUnretainedValue()
            // Every client tries "none" first. Only a user name shaped like a token is a login attempt
            // (the issue's `sftp://TOKEN@host/file` route); anything else just asks for a password.
            guard let user, let name = Optional(String(cString: user)), SFTPTokenShape.looksLikeToken(name) else {
                return SSH_AUTH_DENIED.rawValue
            }
            return s.tryToken(name, user: nil, route: "user") ? SSH_AUTH_SUCCESS.rawValue : SSH_AUTH_DENIED.rawValue
        }
        serverCallbacks.pointee.channel_open_request_session_function = { session, ud in
            let s = Unmanaged<SSHSession>.fromOpaque(ud!).takeUnretainedValue()
            return s.openChannel(session)
        }
        ssh_set_server_callbacks(session, serverCallbacks)
        // keyboard-interactive has no callback in 0.10: it arrives through the message API (Docs/sftp-notes.md §2).
        ssh_set_message_callback(
            session,
            { session, msg, ud in
                let s = Unmanaged<SSHSession>.fromOpaque(ud!).takeUnretainedValue()
                return s.handleMessage(session!, msg!)
            }, me)
        ssh_set_auth_methods(session, Int32(SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_INTERACTIVE))
    }

    /// Drives authentication, the channel open and the subsystem request through libssh's callbacks
    /// (installed before the key exchange) until the `sftp` subsystem is open (Docs/sftp-notes.md §6, threading
    /// model step 1).
    private func login() -> Bool {
        guard let event = ssh_event_new() else { return false }
        defer { ssh_event_free(event) }
        ssh_event_add_session(event, session)
        defer { ssh_event_remove_session(event, session) }
        while !subsystemReady {
            if ssh_event_dopoll(event, 200) == SSH_ERROR { return false }
            if control.cutReason != nil { return false }
            if let refusal {
                // Sent as the SSH DISCONNECT reason by ssh_disconnect in `finish`; OpenSSH prints it.
                ssh_session_set_disconnect_message(session, refusal)
                return false
            }
            let status = ssh_get_status(session)
            if status & (SSH_CLOSED | SSH_CLOSED_ERROR) != 0 { return false }
            if failures >= 6 {
                // More wrong tokens on one connection than any client retries (OpenSSH: 3 prompts).
                outcome = .authFailed
                return false
            }
        }
        return true
    }

    /// The one place a presented token is checked. Failures are uniform (same reply, growing delay) and
    /// counted per peer address; the per-token cap is checked only for a valid token.
    func tryToken(_ token: String, user: UnsafePointer<CChar>?, route: String) -> Bool {
        guard file == nil, refusal == nil else { return false }
        let host = control.peer.host
        let verdict = ctx.throttle.isLocked(host) ? .denied : ctx.policy.authorize(token: token, peer: control.peer)
        let granted: ServedFile
        switch verdict {
        case .granted(let file):
            granted = file
        case .refused(let message):
            // An authentic link: not a guess, so no failure count or pause; the holder is told why and the
            // connection ends (a retry with the same link cannot succeed).
            ctx.logger.info(
                "sftp \(control.peer): login refused (\(route), \(SFTPTokenShape.redact(token))): \(message)")
            outcome = .authFailed
            refuse(message)
            return false
        case .denied:
            failures += 1
            // Each failure pauses longer, up to 3 s (Docs/sftp.md).
            let delay = min(3_000, ctx.config.authFailureDelayMs * Int64(ctx.throttle.recordFailure(host)))
            ctx.logger.info("sftp \(control.peer): login refused (\(route), \(SFTPTokenShape.redact(token)))")
            usleep(UInt32(delay * 1000))
            return false
        }
        guard ctx.registry.acquire(Self.capKey(granted), limit: ctx.config.maxSessionsPerToken) else {
            ctx.logger.info("sftp \(control.peer): \(granted.logID) has \(ctx.config.maxSessionsPerToken) sessions")
            outcome = .tokenSessionCap
            refuse("session limit reached: \(ctx.config.maxSessionsPerToken) sessions with this link are open")
            return false
        }
        if let capped = ctx.gate.promote(control.peer.host) {
            ctx.registry.release(Self.capKey(granted))
            ctx.logger.info("sftp \(control.peer): login refused (\(capped.rawValue))")
            outcome = capped.outcome
            refuse(
                capped == .sessionsPerAddress
                    ? "session limit reached: \(ctx.config.maxSessionsPerAddress) sessions from your address are open"
                    : "session limit reached: the server has \(ctx.config.maxSessions) sessions open, try again later")
            return false
        }
        promoted = true
        return adopt(granted)
    }

    /// Refuses a valid token for a limit: the reason goes out at once as a userauth banner (OpenSSH prints it
    /// before its "Permission denied", even when the client gives up right after this refusal) and again as
    /// the DISCONNECT message when `login` ends the connection.
    private func refuse(_ reason: String) {
        refusal = reason
        guard let banner = ssh_string_from_char(reason + "\r\n") else { return }
        ssh_send_issue_banner(session, banner)
        ssh_string_free(banner)
    }

    /// Sessions are counted per token serial (`sftp.max_sessions_per_token`).
    static func capKey(_ file: ServedFile) -> String { file.grant.serial.hex }

    /// Opens the granted blob and makes the session its own.
    private func adopt(_ granted: ServedFile) -> Bool {
        let opened: any BlobReader
        do {
            opened = try granted.open()
        } catch {
            ctx.registry.release(Self.capKey(granted))
            ctx.logger.error("sftp: blob of \(granted.grant) cannot be opened: \(error.message)")
            return false
        }
        capKey = Self.capKey(granted)
        blob = opened
        file = granted
        userLog = granted.logID
        outcome = .noSubsystem
        return true
    }

    private func openChannel(_ session: ssh_session?) -> ssh_channel? {
        guard file != nil, channel == nil, let ch = ssh_channel_new(session) else { return nil }
        channelCallbacks.pointee.size = MemoryLayout<ssh_channel_callbacks_struct>.size
        channelCallbacks.pointee.userdata = Unmanaged.passUnretained(self).toOpaque()
        channelCallbacks.pointee.channel_subsystem_request_function = { _, _, name, ud in
            let s = Unmanaged<SSHSession>.fromOpaque(ud!).takeUnretainedValue()
            // Only the sftp subsystem. shell, exec, pty, env, x11 and agent requests have no callback, so
            // libssh answers them with failure (no handler → message callback → default reply).
            guard !s.subsystemReady, let name, String(cString: name) == "sftp" else { return SSH_ERROR }
            s.subsystemReady = true
            return SSH_OK
        }
        ssh_set_channel_callbacks(ch, channelCallbacks)
        channel = ch
        return ch
    }

    /// Everything libssh did not handle with a callback: keyboard-interactive logins are answered here,
    /// every other request (port forwarding, other channel types, global requests) gets the default refusal.
    private func handleMessage(_ session: ssh_session, _ msg: ssh_message) -> Int32 {
        guard ssh_message_type(msg) == Int32(SSH_REQUEST_AUTH.rawValue),
            ssh_message_subtype(msg) == Int32(SSH_AUTH_METHOD_INTERACTIVE)
        else { return 1 }
        if ssh_message_auth_kbdint_is_response(msg) == 0 {
            // One echo-off prompt. lftp answers prompts that end in "Password:" (Docs/protocols.md §3.4).
            let name = strdup("ImageGate"), instruction = strdup(""), prompt = strdup("Password: ")
            defer {
                free(name)
                free(instruction)
                free(prompt)
            }
            var prompts: [UnsafePointer<CChar>?] = [UnsafePointer(prompt)]
            var echo: [CChar] = [0]
            _ = ssh_message_auth_interactive_request(msg, name, instruction, 1, &prompts, &echo)
            return 0
        }
        let answer: String? =
            ssh_userauth_kbdint_getnanswers(session) == 1
            ? ssh_userauth_kbdint_getanswer(session, 0).map { String(cString: $0) } : nil
        if let answer, tryToken(answer, user: nil, route: "keyboard-interactive") {
            ssh_message_auth_reply_success(msg, 0)
        } else {
            ssh_message_reply_default(msg)
        }
        return 0
    }

    /// Gives the client up to a second to close the connection itself after our CLOSE. libssh has no public
    /// "remote closed the channel" flag, so this waits for the TCP connection to end.
    private func lingerUntilPeerCloses() {
        guard control.cutReason == nil, let event = ssh_event_new() else { return }
        defer { ssh_event_free(event) }
        ssh_event_add_session(event, session)
        defer { ssh_event_remove_session(event, session) }
        for _ in 0..<20 {
            if ssh_get_status(session) & (SSH_CLOSED | SSH_CLOSED_ERROR) != 0 { return }
            if ssh_event_dopoll(event, 50) == SSH_ERROR { return }
        }
    }

    private func finish() {
        if let ch = channel {
            // Before ssh_disconnect, which frees every channel of the session itself.
            if ssh_channel_is_open(ch) != 0 {
                if let endMessage {
                    // On the channel's stderr, before it closes: OpenSSH copies it to its own stderr. (A DISCONNECT
                    // message would come after the CLOSE, when the client has already stopped reading.)
                    let line = Array((endMessage + "\n").utf8)
                    _ = line.withUnsafeBytes { ssh_channel_write_stderr(ch, $0.baseAddress, UInt32($0.count)) }
                    ssh_session_set_disconnect_message(session, endMessage)
                }
                // exit-status 0, EOF and CLOSE, then wait briefly for the client's CLOSE: a DISCONNECT while
                // the channel is open makes OpenSSH print "Connection … closed by remote host".
                ssh_channel_request_send_exit_status(ch, 0)
                ssh_channel_send_eof(ch)
                ssh_channel_close(ch)
                lingerUntilPeerCloses()
            }
            ssh_channel_free(ch)
            channel = nil
        }
        control.markClosed()
        ssh_disconnect(session)
        ssh_free(session)
        blob = nil
        if let capKey { ctx.registry.release(capKey) }
        ctx.gate.release(control.peer.host, promoted: promoted)
        let outcome = control.cutReason ?? self.outcome
        ctx.accessLog.write(
            peer: control.peer, user: userLog, path: file.map { "/" + $0.name } ?? "-", bytes: bytesSent,
            durationMs: Monotonic.milliseconds() - startMs, outcome: outcome)
        ctx.logger.debug("sftp \(control.peer): session ended (\(outcome), \(bytesSent) bytes)")
        if let file {
            ctx.policy.usage(file, newSession: true, bytes: usage.rest(total: bytesSent), peer: control.peer)
            ctx.policy.sessionEnded(file, bytes: bytesSent, peer: control.peer, outcome: outcome.rawValue)
        }
    }
}

@available(*, unavailable) extension SSHSession: Sendable {}

/// What a token looks like before any check, for the "token as user name" route and for log labels.
enum SFTPTokenShape {
    static func looksLikeToken(_ s: String) -> Bool { s.hasPrefix("igt1.") && s.utf8.count >= 20 }

    /// A log-safe label: never more than the prefix and 8 following characters.
    static func redact(_ token: String) -> String {
        guard looksLikeToken(token) else { return "<redacted>" }
        return String(token.prefix(13)) + "…"
    }
}
