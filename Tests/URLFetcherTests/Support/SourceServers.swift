//===----------------------------------------------------------------------===//
// ImageGate: the import sources the URLFetcher tests fetch from (nginx, pyftpdlib, a dropping HTTP server).
//===----------------------------------------------------------------------===//

import Foundation
import Glibc

/// nginx on 127.0.0.1 serving `www/` over http and https (dev CA), with the redirect routes the tests use.
final class Nginx: @unchecked Sendable {
    let dir = TempDir()
    let httpPort = Net.freePort()
    let httpsPort = Net.freePort()
    /// A port on 127.0.0.2 that a trap listens on: redirects there must never connect.
    let trap: AcceptTrap
    private var server: ServerProcess?

    var http: String { "http://127.0.0.1:\(httpPort)" }
    var https: String { "https://127.0.0.1:\(httpsPort)" }
    var www: String { dir.path + "/www" }

    init(limitRate: String = "256k") throws {
        trap = try AcceptTrap(host: "127.0.0.2")
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        let d = dir.path
        let conf = """
            daemon off;
            master_process off;
            worker_processes 1;
            pid \(d)/nginx.pid;
            error_log \(d)/error.log warn;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path \(d)/t1; proxy_temp_path \(d)/t2; fastcgi_temp_path \(d)/t3;
                uwsgi_temp_path \(d)/t4; scgi_temp_path \(d)/t5;
                default_type application/octet-stream;
                server {
                    listen 127.0.0.1:\(httpPort);
                    root \(www);
                    location = /r1 { return 302 /r2; }
                    location = /r2 { return 301 http://127.0.0.1:\(httpPort)/r3; }
                    location = /r3 { return 307 /img.bin; }
                    location = /loop { return 302 /loop; }
                    location = /to-private { return 302 http://10.0.0.5/img.bin; }
                    location = /to-metadata { return 302 http://169.254.169.254/latest/meta-data/; }
                    location = /to-trap { return 302 http://127.0.0.2:\(trap.port)/img.bin; }
                    location = /to-decimal { return 302 http://2130706434:\(trap.port)/img.bin; }
                    location = /to-file { return 302 file:///etc/passwd; }
                    location = /to-creds { return 302 http://user:pw@127.0.0.1:\(httpPort)/img.bin; }
                    location = /to-https { return 302 https://127.0.0.1:\(httpsPort)/img.bin; }
                    location /slow/ { limit_rate \(limitRate); }
                }
                server {
                    listen 127.0.0.1:\(httpsPort) ssl;
                    ssl_certificate \(Env.certs)/server.crt;
                    ssl_certificate_key \(Env.certs)/server.key;
                    root \(www);
                    location = /down { return 302 http://127.0.0.1:\(httpPort)/img.bin; }
                    location = /r1 { return 302 /img.bin; }
                }
            }
            """
        try conf.write(toFile: d + "/nginx.conf", atomically: true, encoding: .utf8)
        try start()
    }

    /// (Re)starts nginx on the same ports and waits until both listen.
    func start() throws {
        let d = dir.path
        server = try ServerProcess(Env.nginx, ["-p", d, "-c", d + "/nginx.conf", "-e", d + "/e.log"])
        guard Net.waitListening(httpPort), Net.waitListening(httpsPort) else {
            let log = (try? String(contentsOfFile: dir.path + "/error.log", encoding: .utf8)) ?? ""
            throw POSIXError(.ECONNREFUSED, log)
        }
    }

    /// SIGKILL: the source dies mid-transfer.
    func kill() { server?.stop() }

    deinit { server?.stop() }
}

extension POSIXError {
    init(_ code: POSIXErrorCode, _ note: String) {
        self.init(code)
        if !note.isEmpty { print("server log: \(note)") }
    }
}

/// A Python (Debian's /usr/bin/python3) HTTP/1.1 server for resume behaviour nginx cannot be told to show:
/// `drop` cuts the first response after `cut` bytes then serves Range/If-Range properly; `etag-change`
/// also changes its ETag after the first request; `drop-always` cuts every response; `no-length` sends
/// no Content-Length (the body ends when the connection closes).
final class DroppingHTTPServer: @unchecked Sendable {
    let dir = TempDir()
    let server: ServerProcess
    let port: UInt16
    var url: String { "http://127.0.0.1:\(port)/img.bin" }
    var requestLog: [String] {
        ((try? String(contentsOfFile: dir.path + "/requests.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    static let script = #"""
        import http.server, socket, sys
        data = open(sys.argv[1], 'rb').read()
        mode, cut, log = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        state = {"n": 0}
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def do_GET(self):
                state["n"] += 1
                n = state["n"]
                etag = '"v2"' if (mode == "etag-change" and n > 1) else '"v1"'
                rng, ifr = self.headers.get("Range"), self.headers.get("If-Range")
                with open(log, "a") as f: f.write(f"{n} range={rng} if-range={ifr}\n")
                start = 0
                if rng and (ifr is None or ifr == etag):
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data)-1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                if mode == "no-length":
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                if (n == 1 and mode in ("drop", "etag-change")) or mode == "drop-always":
                    self.wfile.write(body[:cut]); self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(body)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        print(srv.server_address[1], flush=True)
        srv.serve_forever()
        """#

    init(data: Data, mode: String, cut: Int) throws {
        let file = dir.path + "/img.bin"
        try data.write(to: URL(fileURLWithPath: file))
        try Self.script.write(toFile: dir.path + "/srv.py", atomically: true, encoding: .utf8)
        server = try ServerProcess(
            Env.python, [dir.path + "/srv.py", file, mode, String(cut), dir.path + "/requests.log"],
            readFirstLine: true, log: dir.path + "/stderr.log")
        guard let p = UInt16(server.firstLine) else { throw POSIXError(.ECONNREFUSED) }
        port = p
    }
}

/// pyftpdlib (Debian python3-pyftpdlib) with one user and password, read-only, rooted at `root`.
/// `pasvTrap`: no EPSV and PASV replies naming 10.0.0.5 — the importer must connect to the control IP.
final class FTPServer: @unchecked Sendable {
    let root = TempDir()
    let server: ServerProcess
    let port: UInt16

    static let script = #"""
        import sys, logging
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer
        logging.basicConfig(level=logging.ERROR)
        root, user, pw, mode = sys.argv[1:5]
        auth = DummyAuthorizer()
        auth.add_user(user, pw, root, perm="elr")
        class H(FTPHandler):
            pass
        H.authorizer = auth
        if mode == "pasv-trap":
            H.masquerade_address = "10.0.0.5"
            H.proto_cmds = {k: v for k, v in FTPHandler.proto_cmds.items() if k != "EPSV"}
        srv = FTPServer(("127.0.0.1", 0), H)
        print(srv.address[1], flush=True)
        srv.serve_forever()
        """#

    init(user: String, password: String, pasvTrap: Bool = false) throws {
        let script = root.path + "/../ftp-\(UInt32.random(in: 0...UInt32.max)).py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        defer { unlink(script) }
        server = try ServerProcess(
            Env.python, [script, root.path, user, password, pasvTrap ? "pasv-trap" : "plain"],
            readFirstLine: true)
        guard let p = UInt16(server.firstLine) else { throw POSIXError(.ECONNREFUSED) }
        port = p
    }
}
