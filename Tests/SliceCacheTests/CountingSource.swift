//===----------------------------------------------------------------------===//
// ImageGate: an in-memory SliceSource that counts fetches and can hold, fail, shorten or corrupt them.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CryptoPrimitives
import Dispatch
import GateCore
import SliceCache
import Synchronization

/// Objects kept in memory. Every call is counted; `hold()` makes fetches wait until `release()`.
final class CountingSource: SliceSource {
    enum Fault: Sendable { case none, fail, short, long, corrupt }

    private let objects = Mutex<[String: [UInt8]]>([:])
    private let calls = Mutex<[(key: String, offset: UInt64, length: UInt64)]>([])
    /// The fault applied to the next `count` fetches.
    private let faults = Mutex<(fault: Fault, count: Int)>((.none, 0))
    private let gate = Mutex<DispatchSemaphore?>(nil)

    /// Stores `bytes` as `key` and returns its record, cut at `sliceBytes` like an import would.
    func put(_ key: String, _ bytes: [UInt8], sliceBytes: UInt64) -> SlicedObject {
        objects.withLock { $0[key] = bytes }
        var digests: [String] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Int(sliceBytes))
            digests.append(Self.hex(Crypto.sha256(Array(bytes[offset..<end]))))
            offset = end
        }
        return SlicedObject(key: key, size: UInt64(bytes.count), sliceBytes: sliceBytes, sliceSHA256: digests)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { b in String(b >> 4, radix: 16) + String(b & 0xF, radix: 16) }.joined()
    }

    var fetches: Int { calls.withLock { $0.count } }
    var ranges: [(key: String, offset: UInt64, length: UInt64)] { calls.withLock { $0 } }

    func inject(_ fault: Fault, times: Int = 1) { faults.withLock { $0 = (fault, times) } }

    func hold() { gate.withLock { $0 = DispatchSemaphore(value: 0) } }

    func release() {
        let g = gate.withLock { g -> DispatchSemaphore? in
            defer { g = nil }
            return g
        }
        // Wakes every fetch held so far (there should be exactly one: single flight).
        for _ in 0..<64 { g?.signal() }
    }

    /// Bytes go out in chunks of this many (at most), as a store's answer arrives in pieces.
    let chunkBytes = 1000

    func fetchRange(
        key: String, offset: UInt64, length: UInt64, deliver: (UnsafeRawBufferPointer) -> Bool
    ) throws(GateError) {
        calls.withLock { $0.append((key, offset, length)) }
        if let g = gate.withLock({ $0 }) { g.wait() }
        let fault = faults.withLock { f -> Fault in
            guard f.count > 0 else { return .none }
            f.count -= 1
            return f.fault
        }
        guard var bytes = objects.withLock({ $0[key] }).map({ Array($0[Int(offset)..<Int(offset + length)]) }) else {
            throw .notFound("no object \(key)")
        }
        switch fault {
        case .none: break
        case .fail: throw .io("object store unreachable: connection refused")
        case .short: bytes.removeLast()
        case .long: bytes.append(0)
        case .corrupt: bytes[0] ^= 0xFF
        }
        let taken = bytes.withUnsafeBytes { all in
            stride(from: 0, to: all.count, by: chunkBytes).allSatisfy { start in
                deliver(UnsafeRawBufferPointer(rebasing: all[start..<min(start + chunkBytes, all.count)]))
            }
        }
        guard taken else { throw .io("the receiver stopped the transfer") }
    }
}
