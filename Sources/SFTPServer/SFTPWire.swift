//===----------------------------------------------------------------------===//
// ImageGate: SFTP v3 wire constants, a bounds-checked reader and the reply buffer.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// Packet types and status codes of draft-ietf-secsh-filexfer-02 (Docs/protocols.md §5.1).
public enum SFTPType {
    public static let initialize: UInt8 = 1, version: UInt8 = 2, open: UInt8 = 3, close: UInt8 = 4
    public static let read: UInt8 = 5, write: UInt8 = 6, lstat: UInt8 = 7, fstat: UInt8 = 8
    public static let setstat: UInt8 = 9, fsetstat: UInt8 = 10, opendir: UInt8 = 11, readdir: UInt8 = 12
    public static let remove: UInt8 = 13, mkdir: UInt8 = 14, rmdir: UInt8 = 15, realpath: UInt8 = 16
    public static let stat: UInt8 = 17, rename: UInt8 = 18, readlink: UInt8 = 19, symlink: UInt8 = 20
    public static let status: UInt8 = 101, handle: UInt8 = 102, data: UInt8 = 103, name: UInt8 = 104
    public static let attrs: UInt8 = 105, extended: UInt8 = 200, extendedReply: UInt8 = 201
}

/// SSH_FX_* codes. Only 0-8 exist for OpenSSH clients (`SSH2_FX_MAX 8`, Docs/style.md §2.4).
public enum SFTPStatus: UInt32, Sendable {
    case ok = 0, eof, noSuchFile, permissionDenied, failure, badMessage, noConnection, connectionLost
    case opUnsupported

    /// The text OpenSSH's sftp-server sends with each code (clients print it).
    public var message: String {
        switch self {
        case .ok: "Success"
        case .eof: "End of file"
        case .noSuchFile: "No such file"
        case .permissionDenied: "Permission denied"
        case .failure: "Failure"
        case .badMessage: "Bad message"
        case .noConnection: "No connection"
        case .connectionLost: "Connection lost"
        case .opUnsupported: "Operation unsupported"
        }
    }
}

/// Limits every session enforces; the numbers are advertised through `limits@openssh.com`.
public enum SFTPWireLimits {
    /// Largest packet accepted from a client (OpenSSH `SFTP_MAX_MSG_LENGTH`, 256 KiB).
    public static let maxPacket = 256 * 1024
    /// Largest READ answered; longer requests are clamped (OpenSSH `SFTP_MAX_READ_LENGTH`; 256 KiB - 1024).
    public static let maxRead = 261_120
    /// Open handles per session (OpenSSH uses min(64, this) requests in flight).
    public static let maxHandles = 64
    /// Draft-02 §6.3: handles are at most 256 bytes; ours are 4.
    public static let maxHandleLength = 256
}

/// Why a packet could not be decoded. Any of these ends the session (a v3 server cannot resynchronise).
public enum SFTPWireError: Error, Equatable, Sendable {
    case truncated
    case oversize(UInt32)
    case empty
}

/// Reads big-endian fields from one packet body, never past its end.
public struct SFTPReader {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var remaining: Int { bytes.count - offset }

    public mutating func u8() throws(SFTPWireError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u32() throws(SFTPWireError) -> UInt32 {
        guard remaining >= 4 else { throw .truncated }
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return v
    }

    public mutating func u64() throws(SFTPWireError) -> UInt64 {
        let hi = try u32()
        return UInt64(hi) << 32 | UInt64(try u32())
    }

    /// A length-prefixed string as raw bytes; the length is checked against what is left before copying.
    public mutating func bytesField() throws(SFTPWireError) -> [UInt8] {
        let n = Int(try u32())
        guard n <= remaining else { throw .truncated }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    public mutating func string() throws(SFTPWireError) -> String {
        String(decoding: try bytesField(), as: UTF8.self)
    }

    /// Skips an ATTRS block (SETSTAT and OPEN carry one; a read-only server ignores it) (draft-02 §5).
    public mutating func skipAttrs() throws(SFTPWireError) {
        let flags = try u32()
        if flags & 0x1 != 0 { _ = try u64() }
        if flags & 0x2 != 0 { _ = try u64() }
        if flags & 0x4 != 0 { _ = try u32() }
        if flags & 0x8 != 0 { _ = try u64() }
        if flags & 0x8000_0000 != 0 {
            let count = try u32()
            for _ in 0..<count {
                _ = try bytesField()
                _ = try bytesField()
            }
        }
    }
}

/// File attributes as sent in ATTRS and NAME (draft-02 §5): size, uid/gid 0, permissions, times.
public struct SFTPAttributes: Equatable, Sendable {
    public var size: UInt64
    public var permissions: UInt32
    public var modified: Int64

    public init(size: UInt64, permissions: UInt32, modified: Int64) {
        self.size = size
        self.permissions = permissions
        self.modified = modified
    }
}

/// Outgoing bytes of a session: whole reply packets, written to the channel in batches. Owns raw memory so
/// that READ data is `pread` straight into place (Docs/sftp-notes.md §9: no extra copy).
public final class SFTPReplyBuffer {
    public private(set) var storage: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    public private(set) var count = 0

    public init(capacity: Int = 512 * 1024) {
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }
    public func removeAll() { count = 0 }

    public func ensure(_ extra: Int) {
        guard count + extra > capacity else { return }
        let newCapacity = max(capacity * 2, count + extra)
        let new = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        new.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = new
        capacity = newCapacity
    }

    public func u8(_ v: UInt8) {
        ensure(1)
        storage.storeBytes(of: v, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    public func u32(_ v: UInt32) {
        ensure(4)
        storage.storeBytes(of: v.bigEndian, toByteOffset: count, as: UInt32.self)
        count += 4
    }

    public func u64(_ v: UInt64) {
        ensure(8)
        storage.storeBytes(of: v.bigEndian, toByteOffset: count, as: UInt64.self)
        count += 8
    }

    public func string(_ s: String) { bytesField(Array(s.utf8)) }

    public func bytesField(_ b: [UInt8]) {
        u32(UInt32(b.count))
        ensure(b.count)
        b.withUnsafeBytes { storage.advanced(by: count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        count += b.count
    }

    public func attrs(_ a: SFTPAttributes) {
        // SIZE | UIDGID | PERMISSIONS | ACMODTIME: `ls -l` and resume both need size and mode.
        u32(0x1 | 0x2 | 0x4 | 0x8)
        u64(a.size)
        u32(0)
        u32(0)
        u32(a.permissions)
        let t = UInt32(truncatingIfNeeded: max(0, a.modified))
        u32(t)
        u32(t)
    }

    /// Starts a packet and returns the offset of its length field, to be patched by `endPacket`.
    public func beginPacket(_ type: UInt8) -> Int {
        let start = count
        u32(0)
        u8(type)
        return start
    }

    public func endPacket(_ start: Int) {
        let length = UInt32(count - start - 4)
        storage.storeBytes(of: length.bigEndian, toByteOffset: start, as: UInt32.self)
    }

    /// Reserves `n` bytes for a caller to fill in place, then `commit` says how many it wrote.
    public func reserve(_ n: Int) -> UnsafeMutableRawPointer {
        ensure(n)
        return storage.advanced(by: count)
    }

    public func commit(_ n: Int) { count += n }

    /// Drops everything from `offset` on (an abandoned reply).
    public func truncate(to offset: Int) { count = min(count, offset) }

    /// Drops the first `n` bytes (written to the channel).
    public func consume(_ n: Int) {
        if n >= count {
            count = 0
            return
        }
        memmove(storage, storage.advanced(by: n), count - n)  // overlapping: memmove, not memcpy
        count -= n
    }
}

@available(*, unavailable) extension SFTPReplyBuffer: Sendable {}
