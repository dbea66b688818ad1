//===----------------------------------------------------------------------===//
// ImageGate: the SFTP part of a minted link: the URL and ready, resuming command lines for real clients.
//===----------------------------------------------------------------------===//
import Foundation
import SFTPServer
import SystemIO

/// `sftp://TOKEN@host:port/file`: the token is the SSH user name and no password is asked (the server
/// accepts "none" authentication when the user name is itself a valid token; Docs/sftp.md explains the
/// trade-off: the token then shows in `ps` and shell history).
enum SFTPLinks {
    /// `host:port` links name: `sftp.public_host` (the balancer's; its port, else the listener's) when set,
    /// else the SFTP listener: the running server's, else the configured address.
    static func address(_ settings: Settings) -> String {
        var address = settings.sftpListen.description
        if let run = RunFile.read(settings.runFile), let s = run.sftp { address = s }
        if let publicHost = settings.sftpPublicHost {
            return publicHost.address(listenerPort: ListenAddress(address)?.port ?? settings.sftpListen.port)
        }
        return LinkBases.reachable(address)
    }

    static func url(token: String, address: String, fileName: String) -> String {
        let path = fileName.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? fileName
        return "sftp://\(token)@\(address)/\(path)"
    }

    /// Command lines that download into the current directory and, run again after an interruption, resume:
    /// OpenSSH `sftp -a` (its `reget`), lftp `get -c`, curl `-C -`. Host keys: OpenSSH and lftp trust on
    /// first use (`accept-new`); curl pins the ed25519 key's SHA-256 (libssh2 has no trust-on-first-use).
    static func commands(token: String, address: String, fileName: String, hostKeys: [SSHHostKey]) -> [String: String] {
        let (host, port) = split(address)
        let url = url(token: token, address: address, fileName: fileName)
        var c: [String: String] = [
            "openssh": "sftp -a -P \(port) -o StrictHostKeyChecking=accept-new '\(token)@\(host):/\(fileName)'",
            "lftp":
                "lftp -c 'set sftp:connect-program \"ssh -a -x -o StrictHostKeyChecking=accept-new\"; "
                + "get -c \(url.replacingOccurrences(of: "@", with: ":@"))'",
            "curl": "curl -C - -o '\(fileName)' '\(url)'",
        ]
        if let ed = hostKeys.first(where: { $0.kind == "ed25519" }) {
            let pin = ed.fingerprint.replacingOccurrences(of: "SHA256:", with: "")
            c["curl"] = "curl -C - --hostpubsha256 '\(pin)' -o '\(fileName)' '\(url)'"
        }
        return c
    }

    /// `127.0.0.1:2222` → ("127.0.0.1", "2222"); `[::1]:2222` → ("[::1]", "2222") (OpenSSH takes brackets).
    static func split(_ address: String) -> (String, String) {
        guard let colon = address.lastIndex(of: ":") else { return (address, "22") }
        return (String(address[..<colon]), String(address[address.index(after: colon)...]))
    }
}
