//===----------------------------------------------------------------------===//
// ImageGate: a fixed-size ring keeping the last bytes of a stream (for footers such as the fixed VHD one).
//===----------------------------------------------------------------------===//

/// Keeps the last `capacity` bytes appended, in one allocation made up front.
///
/// Encoded as what it holds (capacity and bytes, oldest first), not as its storage layout: where the ring
/// starts depends on how the stream was chunked, and a saved inspector state must not (ImageInspector).
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

    private enum CodingKeys: String, CodingKey { case capacity, bytes }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(storage.count, forKey: .capacity)
        try c.encode(bytes(), forKey: .bytes)
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let capacity = try c.decode(Int.self, forKey: .capacity)
        let held = try c.decode([UInt8].self, forKey: .bytes)
        guard capacity > 0, held.count <= capacity else {
            throw DecodingError.dataCorruptedError(forKey: .bytes, in: c, debugDescription: "more bytes than capacity")
        }
        self.init(capacity: capacity)
        held.withUnsafeBytes { append($0) }
    }

    /// The retained bytes, oldest first.
    func bytes() -> [UInt8] {
        filled < storage.count ? Array(storage[0..<filled]) : Array(storage[next...] + storage[..<next])
    }
}
