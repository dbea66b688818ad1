//===----------------------------------------------------------------------===//
// ImageGate: `imagegate image import --file PATH --server URL`: a resumable (tus 1.0.0) upload to a remote
// server, chunk by chunk, resuming from the server's offset after a dropped connection.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GateCore
import ImageCatalog
import ImageManagement
import SystemIO

enum RemoteImport {
    static let chunk = 8 << 20
    static let maxAttempts = 8

    /// Creates the import, uploads the file, waits for the server's verdict. Returns the final image JSON.
    static func run(_ remote: RemoteAPI, _ request: ImportRequest, path: String, quiet: Bool) throws(GateError)
        -> [String: Any]
    {
        // O_NONBLOCK: a FIFO must not hang the command waiting for a writer (refused below).
        guard let fd = try? FileIO.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) else {
            throw GateError.notFound("no file \(path)")
        }
        defer { Sys.close(fd) }
        guard let st = try? FileIO.status(of: fd), st.isRegularFile, st.size > 0 else {
            throw GateError.invalid("\(path) is not a non-empty regular file")
        }
        let size = st.size
        var body: [String: Any] = [
            "name": request.name, "description": request.remarks, "kind": request.kind.rawValue,
            "format": request.format.rawValue, "system_type": request.systemType, "platform": request.platform,
            "os_version": request.osVersion, "architecture": request.architecture, "boot_mode": request.bootMode,
            "features": request.features, "tags": request.tags, "source": ["upload": ["size": size]],
        ]
        if let sha = request.expectedSHA256 { body["sha256"] = sha }
        if request.encrypted { body["encrypted"] = true }
        if let t = request.tenant { body["tenant"] = t.description }
        let created = try remote.call("POST", "/api/v1/imports", body: body)
        try created.check()
        guard let obj = created.json as? [String: Any], let id = obj["id"] as? String,
            let uploadURL = obj["upload_url"] as? String
        else { throw GateError.internal("unexpected answer to POST /api/v1/imports") }
        let progress = quiet ? nil : ProgressPrinter()
        var offset: UInt64 = 0
        var attempts = 0
        var buf = [UInt8](repeating: 0, count: chunk)
        while offset < size {
            let n = (try? FileIO.pread(fd, into: &buf, range: 0..<min(chunk, Int(size - offset)), at: offset)) ?? -1
            guard n > 0 else { throw GateError.io("cannot read \(path)") }
            do throws(GateError) {
                let r = try remote.send(
                    "PATCH", uploadURL,
                    headers: [
                        "Tus-Resumable": "1.0.0", "Upload-Offset": String(offset),
                        "Content-Type": "application/offset+octet-stream",
                    ], body: Array(buf[0..<n]))
                if r.status == 204, let next = r.headers["upload-offset"].flatMap(UInt64.init) {
                    offset = next
                    attempts = 0
                    progress?.update(offset, total: size)
                    continue
                }
                if r.status >= 400 && r.status != 409 {
                    throw GateError(
                        .unsupported, "upload refused (\(r.status)): \(String(decoding: r.body, as: UTF8.self))")
                }
                // 409: another PATCH holds the upload (behind a balancer, on another node): wait a little.
                if r.status == 409 { usleep(500_000) }
            } catch {
                guard error.code == .io else { throw error }
                attempts += 1
                guard attempts <= maxAttempts else { throw error }
                usleep(UInt32(min(attempts, 5)) * 500_000)
            }
            // A dropped connection or an offset conflict: continue from what the server holds.
            let head = try remote.send("HEAD", uploadURL, headers: ["Tus-Resumable": "1.0.0"])
            guard head.status == 200, let server = head.headers["upload-offset"].flatMap(UInt64.init) else {
                // A node that did not finish the upload does not know its final offset: if the last PATCH
                // completed it after all, the image's status is the verdict.
                if head.status == 404, let image = try? remote.call("GET", "/api/v1/images/\(id)"),
                    ((image.json as? [String: Any])?["status"] as? String).map({ $0 != "uploading" }) == true
                {
                    break
                }
                throw GateError.io("the upload is gone (HEAD answered \(head.status))")
            }
            offset = server
        }
        progress?.done()
        // The server verifies and finalizes; wait for its verdict.
        while true {
            let r = try remote.call("GET", "/api/v1/images/\(id)")
            try r.check()
            let o = r.json as? [String: Any] ?? [:]
            if (o["status"] as? String) != "uploading" { return o }
            usleep(200_000)
        }
    }
}
