//===----------------------------------------------------------------------===//
// ImageGate fuzz target: the SFTP packet framer and the request processor behind it (Docs/testing.md).
//===----------------------------------------------------------------------===//
import SFTPServer

/// Serves 100 KiB of a fixed pattern from memory, like the tests' byte source.
private struct PatternSource: SFTPByteSource {
    let size: UInt64 = 100 * 1024
    func read(into buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64) -> Int {
        guard offset < size else { return 0 }
        let n = Int(min(UInt64(count), size - offset))
        for i in 0..<n {
            buffer.storeBytes(of: UInt8(truncatingIfNeeded: offset &+ UInt64(i)), toByteOffset: i, as: UInt8.self)
        }
        return n
    }
}

/// The input is the client's byte stream, delivered in reads whose sizes come from the first byte. Every packet
/// the framer hands out goes to one session's processor, as the channel loop does, until either asks to close.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSFTPFramer(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let step = Int(data[0]) + 1
    var framer = SFTPFramer(maxPacket: 34_000)
    let file = SFTPFile(
        name: "disk.qcow2", path: "/nonexistent", size: 100 * 1024, modified: 1_700_000_000, logID: "igt1.…",
        capKey: "fuzz")
    let processor = SFTPProcessor(file: file, source: PatternSource())
    let out = SFTPReplyBuffer(capacity: 64 * 1024)
    var offset = 0
    while offset < stream.count {
        let end = min(stream.count, offset + step)
        framer.append(UnsafeRawBufferPointer(rebasing: stream[offset..<end]))
        offset = end
        precondition(framer.pending <= 34_004 + step, "framer holds \(framer.pending) bytes")
        while true {
            let outcome: SFTPProcessor.Outcome?
            do {
                outcome = try framer.next { body in processor.handle(body, into: out) }
            } catch {
                return 0
            }
            guard let outcome else { break }
            if case .close = outcome { return 0 }
            out.removeAll()
        }
    }
    return 0
}
