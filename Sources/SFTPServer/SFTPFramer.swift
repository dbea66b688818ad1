//===----------------------------------------------------------------------===//
// ImageGate: splitting the subsystem channel's byte stream into SFTP packets, with a hard size cap.
//===----------------------------------------------------------------------===//

/// Accumulates channel bytes and hands out whole packets (`uint32 length` + body, draft-02 §3).
///
/// The length is checked against `maxPacket` as soon as its 4 bytes arrive, before anything is allocated
/// for the body (Docs/protocols.md §5.3: a 0xFFFFFFFF length must not cost memory). The buffer holds at most
/// one partial packet plus one channel read, so a session's input memory is bounded.
public struct SFTPFramer {
    public let maxPacket: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxPacket: Int = SFTPWireLimits.maxPacket) { self.maxPacket = maxPacket }

    /// Bytes received and not yet returned as packets.
    public var pending: Int { buffer.count - start }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 64 * 1024 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Calls `body` with the next complete packet body (type byte first), if there is one.
    /// - Returns: true if a packet was delivered, false if more bytes are needed.
    /// - Throws: `SFTPWireError` if the stream announces an empty or oversize packet; the session must end.
    public mutating func next<R>(_ body: (UnsafeRawBufferPointer) -> R) throws(SFTPWireError) -> R? {
        guard pending >= 4 else { return nil }
        var length: UInt32 = 0
        for i in 0..<4 { length = length << 8 | UInt32(buffer[start + i]) }
        guard length >= 1 else { throw .empty }
        guard length <= UInt32(maxPacket) else { throw .oversize(length) }
        let total = 4 + Int(length)
        guard pending >= total else { return nil }
        let bodyStart = start + 4
        start += total
        return buffer.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[bodyStart..<bodyStart + Int(length)]))
        }
    }
}
