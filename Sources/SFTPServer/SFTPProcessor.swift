//===----------------------------------------------------------------------===//
// ImageGate: SFTP v3 request handling: one packet in, its reply appended, in request order.
//===----------------------------------------------------------------------===//
import GateCore

/// The protocol state of one session, independent of SSH: handles, the INIT handshake, counters.
/// Pure apart from `SFTPByteSource`, so every request path is unit-tested without a socket.
///
/// Replies are appended in the order requests arrive; OpenSSH refuses to resume a transfer whose replies
/// were reordered (Docs/protocols.md §5.2).
public final class SFTPProcessor {
    public enum Outcome: Equatable {
        case proceed
        /// The session must end: malformed or out-of-order packet (a v3 stream cannot be resynchronised).
        case close(String)
    }

    private enum Handle {
        case file
        case directory(listed: Bool)
    }

    public let fs: SFTPVirtualFS
    private let source: any SFTPByteSource
    private var handles: [UInt32: Handle] = [:]
    private var nextHandle: UInt32 = 1
    public private(set) var initialized = false
    /// File bytes sent in DATA replies.
    public private(set) var bytesSent: UInt64 = 0
    public private(set) var requests = 0
    public var openHandles: Int { handles.count }
    /// Asked before each file OPEN with the bytes sent so far: a refusal's message (the link's allowance is
    /// used up), or nil to go on. An OPEN is a new download; the READs of one already open are never cut.
    public var openCheck: ((UInt64) -> String?)? = nil

    public init(file: ServedFile, source: any SFTPByteSource) {
        fs = SFTPVirtualFS(file: file)
        self.source = source
    }

    /// Handles one packet body (type byte first) and appends its reply to `out`.
    public func handle(_ body: UnsafeRawBufferPointer, into out: SFTPReplyBuffer) -> Outcome {
        var r = SFTPReader(body)
        do {
            let type = try r.u8()
            guard initialized else {
                guard type == SFTPType.initialize else { return .close("request before INIT") }
                _ = try r.u32()  // client version: 3 from OpenSSH and curl, 6 from lftp; we answer 3 to all.
                initialized = true
                writeVersion(out)
                return .proceed
            }
            guard type != SFTPType.initialize else { return .close("second INIT") }
            let id = try r.u32()
            requests += 1
            do {
                try dispatch(type, id, &r, out)
            } catch let e as GateError {
                status(out, id, SFTPStatus(e.code), e.message)
            }
            return .proceed
        } catch let e as SFTPWireError {
            return .close("malformed packet: \(e)")
        } catch {
            return .close("unexpected error")
        }
    }

    private func dispatch(_ type: UInt8, _ id: UInt32, _ r: inout SFTPReader, _ out: SFTPReplyBuffer) throws {
        switch type {
        case SFTPType.realpath:
            let path = try r.string()
            _ = try fs.lookup(path)
            let n = SFTPPath.normalize(path)
            let p = out.beginPacket(SFTPType.name)
            out.u32(id)
            out.u32(1)
            out.string(n)
            out.string(n)
            out.u32(0)  // no attributes, as OpenSSH's sftp-server does for REALPATH
            out.endPacket(p)
        case SFTPType.stat, SFTPType.lstat:
            attrsReply(out, id, fs.attributes(try fs.lookup(try r.string())))
        case SFTPType.fstat:
            switch try lookupHandle(try r.bytesField()) {
            case .file: attrsReply(out, id, fs.fileAttributes)
            case .directory: attrsReply(out, id, fs.rootAttributes)
            }
        case SFTPType.open:
            let path = try r.string()
            let pflags = try r.u32()
            try r.skipAttrs()
            // Anything but plain READ is a write (OpenSSH `sftp-server -R`): refused before the lookup.
            guard pflags == 0x1 else { throw GateError(.forbiddenByPolicy, SFTPStatus.permissionDenied.message) }
            guard try fs.lookup(path) == .file else { throw GateError(.io, "Is a directory") }
            if let refusal = openCheck?(bytesSent) { throw GateError(.forbiddenByPolicy, refusal) }
            handleReply(out, id, try allocate(.file))
        case SFTPType.opendir:
            guard try fs.lookup(try r.string()) == .root else { throw GateError.notFound("Not a directory") }
            handleReply(out, id, try allocate(.directory(listed: false)))
        case SFTPType.readdir:
            let key = try r.bytesField()
            guard case .directory(let listed) = try lookupHandle(key) else {
                throw GateError(.io, "Not a directory")
            }
            if listed {
                status(out, id, .eof, SFTPStatus.eof.message)
            } else {
                handles[Self.handleID(key)!] = .directory(listed: true)
                writeListing(out, id)
            }
        case SFTPType.read:
            let key = try r.bytesField()
            let offset = try r.u64()
            let length = try r.u32()
            guard case .file = try lookupHandle(key) else { throw GateError(.io, "Is a directory") }
            read(out, id, offset: offset, length: length)
        case SFTPType.close:
            let key = try r.bytesField()
            _ = try lookupHandle(key)
            handles[Self.handleID(key)!] = nil
            status(out, id, .ok, SFTPStatus.ok.message)
        case SFTPType.write, SFTPType.setstat, SFTPType.fsetstat, SFTPType.remove, SFTPType.mkdir, SFTPType.rmdir,
            SFTPType.rename, SFTPType.symlink:
            throw GateError(.forbiddenByPolicy, SFTPStatus.permissionDenied.message)
        case SFTPType.readlink:
            _ = try fs.lookup(try r.string())
            throw GateError.invalid("Not a symbolic link")
        case SFTPType.extended:
            try extended(try r.string(), &r, id, out)
        default:
            throw GateError(.unsupported, SFTPStatus.opUnsupported.message)
        }
    }

    /// OpenSSH extensions ([ossh] PROTOCOL §4). `limits@openssh.com` and `statvfs@openssh.com` are
    /// advertised and implemented; write extensions a client might try anyway are refused as writes.
    private func extended(_ name: String, _ r: inout SFTPReader, _ id: UInt32, _ out: SFTPReplyBuffer) throws {
        switch name {
        case "limits@openssh.com":
            let p = out.beginPacket(SFTPType.extendedReply)
            out.u32(id)
            out.u64(UInt64(SFTPWireLimits.maxPacket))
            out.u64(UInt64(SFTPWireLimits.maxRead))
            out.u64(32768)  // max-write-length: never used (writes are refused), 0 would confuse uploads' sizing
            out.u64(UInt64(SFTPWireLimits.maxHandles))
            out.endPacket(p)
        case "statvfs@openssh.com":
            // `df` in OpenSSH sftp. The path must exist in the virtual tree; the answer describes that tree.
            _ = try fs.lookup(try r.string())
            statvfs(out, id)
        case "posix-rename@openssh.com", "hardlink@openssh.com", "fsync@openssh.com", "lsetstat@openssh.com",
            "copy-data":
            throw GateError(.forbiddenByPolicy, SFTPStatus.permissionDenied.message)
        default:
            throw GateError(.unsupported, SFTPStatus.opUnsupported.message)
        }
    }

    /// The statvfs reply ([ossh] PROTOCOL §4.4) for the virtual tree, never the host's file system (that would
    /// tell every link holder how full the server's disk is): 4 KiB blocks holding the one file, nothing
    /// free, one inode, read-only and nosuid, names up to 255 bytes.
    private func statvfs(_ out: SFTPReplyBuffer, _ id: UInt32) {
        let block: UInt64 = 4096
        let p = out.beginPacket(SFTPType.extendedReply)
        out.u32(id)
        let fields: [UInt64] = [block, block, (fs.file.size + block - 1) / block, 0, 0, 1, 0, 0, 0, 0x1 | 0x2, 255]
        for v in fields { out.u64(v) }
        out.endPacket(p)
    }

    /// READ: `min(length, maxRead)` bytes `pread` straight into the reply; EOF at or past the end (draft-02 §6.4).
    private func read(_ out: SFTPReplyBuffer, _ id: UInt32, offset: UInt64, length: UInt32) {
        let size = fs.file.size
        guard offset < size else {
            status(out, id, .eof, SFTPStatus.eof.message)
            return
        }
        let want = Int(min(UInt64(min(Int(length), SFTPWireLimits.maxRead)), size - offset))
        guard want > 0 else {
            // A zero-length READ inside the file: an empty DATA is the literal answer.
            dataHeader(out, id, 0)
            return
        }
        let start = out.count
        let lengthAt = dataHeader(out, id, UInt32(want))
        let got = source.read(into: out.reserve(want), count: want, offset: offset)
        guard got > 0 else {
            out.truncate(to: start)
            // 0: the blob is shorter than the catalog says (truncated underneath us); -1: I/O error.
            status(
                out, id, got == 0 ? .eof : .failure,
                got == 0 ? SFTPStatus.eof.message : source.failureMessage() ?? "Read error")
            return
        }
        out.commit(got)
        if got < want {
            out.storeU32(UInt32(got), at: lengthAt)
            out.endPacket(start)
        }
        bytesSent += UInt64(got)
    }

    /// Writes a DATA header for `n` bytes (packet length already final for `n`); returns where the data
    /// length field is, for a short read to patch.
    @discardableResult
    private func dataHeader(_ out: SFTPReplyBuffer, _ id: UInt32, _ n: UInt32) -> Int {
        let p = out.count
        out.u32(1 + 4 + 4 + n)
        out.u8(SFTPType.data)
        out.u32(id)
        out.u32(n)
        return p + 9
    }

    private func writeVersion(_ out: SFTPReplyBuffer) {
        let p = out.beginPacket(SFTPType.version)
        out.u32(3)
        // Advertise only what is implemented (Docs/protocols.md §5.4); OpenSSH then uses 255 KiB reads.
        out.string("limits@openssh.com")
        out.string("1")
        out.string("statvfs@openssh.com")
        out.string("2")
        out.endPacket(p)
    }

    private func writeListing(_ out: SFTPReplyBuffer, _ id: UInt32) {
        let entries: [(String, SFTPAttributes)] = [
            (".", fs.rootAttributes), ("..", fs.rootAttributes), (fs.file.name, fs.fileAttributes),
        ]
        let p = out.beginPacket(SFTPType.name)
        out.u32(id)
        out.u32(UInt32(entries.count))
        for (name, a) in entries {
            out.string(name)
            out.string(SFTPVirtualFS.longName(name, a))
            out.attrs(a)
        }
        out.endPacket(p)
    }

    private func allocate(_ h: Handle) throws(GateError) -> UInt32 {
        guard handles.count < SFTPWireLimits.maxHandles else { throw GateError(.io, "Too many open handles") }
        let key = nextHandle
        nextHandle = nextHandle &+ 1
        handles[key] = h
        return key
    }

    private static func handleID(_ key: [UInt8]) -> UInt32? {
        guard key.count == 4 else { return nil }
        return key.reduce(0) { $0 << 8 | UInt32($1) }
    }

    private func lookupHandle(_ key: [UInt8]) throws(GateError) -> Handle {
        guard let k = Self.handleID(key), let h = handles[k] else { throw GateError.invalid("Invalid handle") }
        return h
    }

    private func handleReply(_ out: SFTPReplyBuffer, _ id: UInt32, _ key: UInt32) {
        let p = out.beginPacket(SFTPType.handle)
        out.u32(id)
        out.u32(4)
        out.u32(key)
        out.endPacket(p)
    }

    private func attrsReply(_ out: SFTPReplyBuffer, _ id: UInt32, _ a: SFTPAttributes) {
        let p = out.beginPacket(SFTPType.attrs)
        out.u32(id)
        out.attrs(a)
        out.endPacket(p)
    }

    private func status(_ out: SFTPReplyBuffer, _ id: UInt32, _ s: SFTPStatus, _ message: String) {
        let p = out.beginPacket(SFTPType.status)
        out.u32(id)
        out.u32(s.rawValue)
        out.string(message)
        out.string("en")
        out.endPacket(p)
    }
}

@available(*, unavailable) extension SFTPProcessor: Sendable {}

extension SFTPReplyBuffer {
    func storeU32(_ v: UInt32, at offset: Int) {
        storage.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt32.self)
    }
}
