//===----------------------------------------------------------------------===//
// ImageGate: FTP test support: a policy with one known token, sessions driven by text lines.
//===----------------------------------------------------------------------===//
import FTPServer
import GateCore
import SystemIO
import TestSupport

let goodToken = "igt1.good"
let testFile = ServedFile.fixture(
    name: "centos-7.qcow2", path: "/nonexistent/blob", size: 1_000_000, modified: 1_700_000_000,
    logID: "igt1.0000.0000…")

struct FakePolicy: FTPAccessPolicy {
    var valid = true
    var file = testFile
    func authorize(token: String, secure: Bool, peer: PeerAddress) -> FTPLogin {
        token == goodToken ? .granted(file) : .denied(reason: "token_malformed", tokenLabel: "<redacted>")
    }
    func stillValid(_ f: ServedFile) -> Bool { valid }
}

let loopbackPeer = PeerAddress(host: "127.0.0.1", port: 40000, bytes: [127, 0, 0, 1])

extension FTPSession {
    static func make(allowPlain: Bool = false, policy: FakePolicy = FakePolicy(), peer: PeerAddress = loopbackPeer)
        -> FTPSession
    {
        var c = FTPConfig()
        c.allowPlain = allowPlain
        return FTPSession(config: c, policy: policy, peer: peer, tlsAvailable: true)
    }

    /// Sends one text line and returns the reply codes it produced.
    mutating func send(_ line: String) -> [FTPEffect] { handle(line: Array(line.utf8)) }

    mutating func codes(_ line: String) -> [Int] {
        send(line).compactMap { if case .reply(let r) = $0 { r.code } else { nil } }
    }

    /// AUTH TLS (handshake assumed), PBSZ 0, PROT P, USER, PASS.
    static func loggedIn(allowPlain: Bool = false, policy: FakePolicy = FakePolicy()) -> FTPSession {
        var s = make(allowPlain: allowPlain, policy: policy)
        _ = s.send("AUTH TLS")
        s.tlsEstablished()
        _ = s.send("PBSZ 0")
        _ = s.send("PROT P")
        _ = s.send("USER anything")
        _ = s.send("PASS " + goodToken)
        return s
    }

    /// Opens a passive listener as the connection would (the state machine only tracks that one is open).
    mutating func pasv() { _ = send("PASV") }
}

func replies(_ effects: [FTPEffect]) -> [FTPReply] {
    effects.compactMap { if case .reply(let r) = $0 { r } else { nil } }
}
