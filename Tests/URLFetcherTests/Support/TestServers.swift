//===----------------------------------------------------------------------===//
// ImageGate: real source servers for URLFetcher tests — nginx (http/https), pyftpdlib, a tiny Python HTTP.
//===----------------------------------------------------------------------===//

import Foundation
import Glibc

/// Test paths and availability of the server binaries (installed by `scripts/install-deps.sh --test`).
enum Env {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let nginx = "/usr/sbin/nginx"
    /// The machine's `python3` may be a pyenv build without Debian's python3-pyftpdlib: use the system one.
    static let python = "/usr/bin/python3"
    static var hasNginx: Bool { FileManager.default.isExecutableFile(atPath: nginx) }
    static var hasPython: Bool { FileManager.default.isExecutableFile(atPath: python) }
    static var hasPyftpdlib: Bool {
        hasPython && (try? run(python, ["-c", "import pyftpdlib"]))?.status == 0
    }

    /// Development CA and localhost/127.0.0.1 server certificate, generated once per test process.
    static let certs: String = {
        let dir = NSTemporaryDirectory() + "urlfetcher-certs-\(getpid())"
        let script = repoRoot.appendingPathComponent("Certs/generate-dev-certs.sh").path
        _ = try? run("/bin/bash", [script, dir])
        return dir
    }()

    @discardableResult
    static func run(_ exe: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// A per-test temporary directory, removed on deinit.
final class TempDir: @unchecked Sendable {
    let path: String
    init() {
        var template = Array((NSTemporaryDirectory() + "urlfetcher-XXXXXX").utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `count` pseudo-random bytes (deterministic) to `name` and returns them.
    @discardableResult
    func makeFile(_ name: String, count: Int, seed: UInt64 = 42) throws -> Data {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        let url = URL(fileURLWithPath: path + "/" + name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let data = Data(bytes)
        try data.write(to: url)
        return data
    }
}

/// A child process killed (SIGKILL) on `stop()` or deinit.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private(set) var firstLine = ""

    init(_ exe: String, _ args: [String], readFirstLine: Bool = false, log: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = args
        let out = Pipe()
        process.standardOutput = out
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: log)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        if readFirstLine {
            var line = Data()
            while true {
                let chunk = out.fileHandleForReading.readData(ofLength: 1)
                if chunk.isEmpty || chunk == Data([0x0A]) { break }
                line.append(chunk)
            }
            firstLine = String(decoding: line, as: UTF8.self)
        }
    }

    var pid: Int32 { process.processIdentifier }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

enum Net {
    /// A free TCP port on `host` (bound and released; the race is acceptable on a test machine).
    static func freePort(_ host: String = "127.0.0.1") -> UInt16 {
        let trap = try! AcceptTrap(host: host)
        return trap.port
    }

    /// Waits until something accepts connections on 127.0.0.1:`port`.
    static func waitListening(_ port: UInt16, seconds: Double = 10) -> Bool {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(fd)
            if rc == 0 { return true }
            usleep(20_000)
        }
        return false
    }
}

/// A listening socket that records whether anything connected to it: proof that a refused import never
/// opened a connection (the kernel completes handshakes into the backlog even without accept()).
final class AcceptTrap: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init(host: String) throws {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var storage = sockaddr_storage()
        var length: socklen_t
        if v6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            inet_pton(AF_INET6, host, &sa.sin6_addr)
            withUnsafeBytes(of: sa) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = inet_addr(host)
            withUnsafeBytes(of: sa) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        }
        let ok = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
        }
        guard ok, listen(fd, 16) == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
        var bound = sockaddr_storage()
        var boundLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &boundLength) }
        }
        _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        self.fd = fd
        self.port = withUnsafeBytes(of: bound) { raw in UInt16(raw[2]) << 8 | UInt16(raw[3]) }
    }

    /// Connections that arrived so far.
    func acceptedCount() -> Int {
        var n = 0
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return n }
            close(c)
            n += 1
        }
    }

    deinit { close(fd) }
}
