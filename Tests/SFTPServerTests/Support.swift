//===----------------------------------------------------------------------===//
// ImageGate: helpers for the SFTP tests: request builders, an in-memory file, a reply decoder.
//===----------------------------------------------------------------------===//
import GateCore
import SFTPServer
import TestSupport

/// The served file's bytes in memory.
struct MemorySource: SFTPByteSource {
    let bytes: [UInt8]
    func read(into buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64) -> Int {
        guard offset < UInt64(bytes.count) else { return 0 }
        let n = min(count, bytes.count - Int(offset))
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + Int(offset), byteCount: n) }
        return n
    }
}

/// A request body builder (type byte first, no length prefix).
struct Req {
    var b: [UInt8] = []
    init(_ type: UInt8) { b = [type] }
    func u32(_ v: UInt32) -> Req {
        var r = self
        r.b += [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
        return r
    }
    func u64(_ v: UInt64) -> Req { u32(UInt32(v >> 32)).u32(UInt32(v & 0xffff_ffff)) }
    func str(_ s: String) -> Req { bytes(Array(s.utf8)) }
    func bytes(_ x: [UInt8]) -> Req {
        var r = u32(UInt32(x.count))
        r.b += x
        return r
    }
    /// The same body with its 4-byte length prefix, as on the wire.
    var framed: [UInt8] { Req(0).u32(UInt32(b.count)).b.dropFirst() + b }
}

/// One decoded reply packet.
struct Reply {
    let type: UInt8
    let body: [UInt8]
    var id: UInt32 { u32(at: 0) }
    var status: UInt32 { u32(at: 4) }
    func u32(at o: Int) -> UInt32 { body[o..<o + 4].reduce(0) { $0 << 8 | UInt32($1) } }
    func u64(at o: Int) -> UInt64 { UInt64(u32(at: o)) << 32 | UInt64(u32(at: o + 4)) }
    /// For HANDLE: the handle bytes. For DATA: the data.
    var blob: [UInt8] {
        let n = Int(u32(at: 4))
        return Array(body[8..<8 + n])
    }
    func string(at o: Int) -> (String, Int) {
        let n = Int(u32(at: o))
        return (String(decoding: body[o + 4..<o + 4 + n], as: UTF8.self), o + 4 + n)
    }
}

/// A processor with INIT done, and helpers to run requests through it.
final class Harness {
    let processor: SFTPProcessor
    let out = SFTPReplyBuffer(capacity: 1024)
    let data: [UInt8]

    init(size: Int = 1000, name: String = "disk.qcow2", initialize: Bool = true, source: (any SFTPByteSource)? = nil) {
        data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let file = ServedFile.fixture(
            name: name, path: "/blob", size: UInt64(size), modified: 1_700_000_000, logID: "igt1.x…")
        processor = SFTPProcessor(file: file, source: source ?? MemorySource(bytes: data))
        if initialize { _ = run(Req(SFTPType.initialize).u32(3)) }
    }

    @discardableResult
    func run(_ r: Req) -> SFTPProcessor.Outcome {
        r.b.withUnsafeBytes { processor.handle($0, into: out) }
    }

    /// Runs one request and decodes the replies it produced.
    func replies(_ r: Req) -> [Reply] {
        out.removeAll()
        _ = run(r)
        return Self.decode(Array(out.bytes))
    }

    func one(_ r: Req) -> Reply { replies(r)[0] }

    static func decode(_ bytes: [UInt8]) -> [Reply] {
        var res: [Reply] = []
        var o = 0
        while o + 4 <= bytes.count {
            let n = Int(bytes[o..<o + 4].reduce(0) { $0 << 8 | UInt32($1) })
            res.append(Reply(type: bytes[o + 4], body: Array(bytes[o + 5..<o + 4 + n])))
            o += 4 + n
        }
        return res
    }

    func open(_ path: String = "/disk.qcow2") -> [UInt8] {
        one(Req(SFTPType.open).u32(10).str(path).u32(1).u32(0)).blob
    }
}
