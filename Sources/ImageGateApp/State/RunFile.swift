//===----------------------------------------------------------------------===//
// ImageGate: <data_dir>/run/server.json, how CLI commands find the local running server.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GateCore
import SystemIO

/// Written by `serve` once its listeners are bound, removed on clean stop. A stale file (dead pid) is ignored.
struct RunFile: Codable, Sendable {
    var pid: Int32
    var http: String
    var https: String?
    /// The FTP listener's bound address, when one runs.
    var ftp: String? = nil
    var startedAt: String
    /// The SFTP listener's bound address (absent in files written before the SFTP front existed).
    var sftp: String? = nil
    /// The server's link policy: what the tokens it will accept may do (see LinkPolicy).
    var links: LinkPolicy? = nil

    enum CodingKeys: String, CodingKey {
        case pid, http, https, ftp, sftp, links
        case startedAt = "started_at"
    }

    func write(to path: String) throws(GateError) {
        do {
            let dir = (path as NSString).deletingLastPathComponent
            try DataDirectory.makeDirectories(dir)
            let data = try JSONEncoder().encode(self)
            // 0666 less the umask, as the file has always been created.
            try AtomicFile.write(Array(data), to: path, mode: 0o666)
        } catch let e as AtomicFileError {
            throw GateError.io(e.step == .place ? "cannot write \(path)" : "cannot write \(path): \(e)")
        } catch let e as GateError {
            throw e
        } catch {
            throw GateError.io("cannot write \(path): \(error)")
        }
    }

    /// The running server's record, or nil when there is none (no file, or its process is gone).
    static func read(_ path: String) -> RunFile? {
        guard let data = FileManager.default.contents(atPath: path),
            let rf = try? JSONDecoder().decode(RunFile.self, from: data)
        else { return nil }
        guard kill(rf.pid, 0) == 0 || errno == EPERM else { return nil }
        return rf
    }

    static func remove(_ path: String) { FileIO.remove(path) }
}
