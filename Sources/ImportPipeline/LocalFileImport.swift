//===----------------------------------------------------------------------===//
// ImageGate: `imagegate image import --file` on the server host: the same import pipeline as uploads
// (job, staging sink, in-line checks, atomic finalize), fed from a local file.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import ImageCatalog
import ImageManagement
import SystemIO

extension ImportManager {
    /// Imports `path` as `request` (its size taken from the file) and returns the available image, or throws
    /// with the reason the import failed (the image is then `failed`).
    package func importLocalFile(
        _ p: Principal, _ request: ImportRequest, path: String, progress: ((UInt64, UInt64) -> Void)?
    ) throws(GateError) -> ImageRecord {
        // O_NONBLOCK so opening a FIFO cannot hang waiting for a writer (it is refused below as not a regular
        // file); it has no effect on regular files.
        let fd: Int32
        do {
            fd = try FileIO.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        } catch {
            throw error.errno == ENOENT
                ? GateError.notFound("no file \(path)") : GateError.io("cannot open \(path): \(error.reason)")
        }
        defer { Sys.close(fd) }
        guard let st = try? FileIO.status(of: fd), st.isRegularFile else {
            throw GateError.invalid("\(path) is not a regular file")
        }
        let size = st.size
        guard size > 0 else { throw GateError.invalid("\(path) is empty") }
        var req = request
        req.source = .upload(size: size)
        // Held by this process's lease (renewed every 5 s by its heartbeat thread) and resumable by nobody
        // else: if this process stops, the server's sweep or recovery fails the import with that reason.
        let (record, _) = try create(p, req, source: "cli", localFile: true)
        let sink: ImportSink
        do {
            let cap = try service.remainingQuota(record.tenant, settings.quota, excluding: record.id)
            let job = try store.importJob(image: record.id)
            sink = try ImportSink.create(
                record, blobs: blobs, declared: ImportManager.declared(record.format), encrypted: req.encrypted,
                cap: cap, expectedSHA256: job?.expectedSHA256)
        } catch {
            fail(record.id, reason: error.message)
            throw error
        }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var last = ProgressWindow()
        while true {
            let n: Int
            do {
                n = try FileIO.read(fd, into: &buf)
            } catch {
                let reason = "cannot read \(path): \(error.reason)"
                sink.abandon()
                fail(record.id, reason: reason)
                throw GateError.io(reason)
            }
            if n == 0 { break }
            if let f = buf.withUnsafeBytes({ sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) {
                sink.abandon()
                fail(record.id, reason: f.reason)
                // A full disk is the server's trouble, not a refusal of the file.
                throw f.cause == .refused
                    ? GateError(.unsupported, "import refused: \(f.reason)")
                    : GateError.io("import failed: \(f.reason)")
            }
            reportProgress(record.id, bytes: sink.bytes, total: size, last: &last)
            progress?(sink.bytes, size)
        }
        guard sink.bytes == size else {
            sink.abandon()
            fail(record.id, reason: "the file changed size while it was read")
            throw GateError.conflict("\(path) changed size while it was read")
        }
        switch sink.finish() {
        case .failure(let f):
            fail(record.id, reason: f.reason)
            throw GateError(.unsupported, "import refused: \(f.reason)")
        case .success(let b):
            do {
                let done = try service.finishImport(
                    record.id, size: b.size, sha256: b.sha256, virtualSize: b.virtualSize, format: b.format,
                    encrypted: b.encrypted)
                try? store.deleteImportJob(image: record.id)
                return done
            } catch {
                // Cancelled or failed meanwhile (recovery or a sweep in another process): that verdict stands, and
                // the bytes just finalized must not stay behind it (as in finalizeInBackground).
                blobs.remove(record.id)
                try? store.deleteImportJob(image: record.id)
                throw error
            }
        }
    }
}
