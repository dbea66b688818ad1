//===----------------------------------------------------------------------===//
// ImageGate: a fixed-size ring keeping the last bytes of a stream (for footers such as the fixed VHD one).
//===----------------------------------------------------------------------===//

/// Keeps the last `capacity` bytes appended, in one allocation made up front.
struct TailRing: Sendable, Codable {
    private var storage: [UInt8]
    private var next = 0
    private var filled = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        storage = [UInt8](repeating: 0, count: capacity)
    }

    var retainedBytes: Int { storage.capacity }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let capacity = storage.count
        if bytes.count >= capacity {
            let last = UnsafeRawBufferPointer(rebasing: bytes.suffix(capacity))
            storage.withUnsafeMutableBytes { $0.copyMemory(from: last) }
            next = 0
            filled = capacity
            return
        }
        for byte in bytes {
            storage[next] = byte
            next = next + 1 == capacity ? 0 : next + 1
        }
        filled = min(capacity, filled + bytes.count)
    }

    /// The retained bytes, oldest first.
    func bytes() -> [UInt8] {
        filled < storage.count ? Array(storage[0..<filled]) : Array(storage[next...] + storage[..<next])
    }
}
