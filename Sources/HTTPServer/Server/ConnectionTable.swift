//===----------------------------------------------------------------------===//
// ImageGate: an event loop's connections by descriptor number.
//===----------------------------------------------------------------------===//

/// Connections indexed by their socket descriptor. Descriptors are small and reused lowest-first, so an array
/// indexed by the number finds a connection with a bounds check and one load, where a `Dictionary` hashed
/// every lookup (SipHash, about 80 instructions, two to three times per request: issue 17, Docs/benchmarks.md
/// hot path). The descriptors are the process's, shared by all loops, so each loop's table has holes for the
/// others' connections; it grows to the highest descriptor the loop owned and never shrinks (8 bytes a slot).
struct ConnectionTable {
    private var slots: [Connection?] = []
    /// Connections in the table.
    private(set) var count = 0

    subscript(fd: Int32) -> Connection? {
        get {
            let i = Int(fd)
            return i >= 0 && i < slots.count ? slots[i] : nil
        }
        set {
            let i = Int(fd)
            precondition(i >= 0, "negative descriptor")
            if i >= slots.count {
                guard newValue != nil else { return }
                slots.append(contentsOf: repeatElement(nil, count: max(i + 1, slots.count * 2) - slots.count))
            }
            switch (slots[i] != nil, newValue != nil) {
            case (false, true): count += 1
            case (true, false): count -= 1
            default: break
            }
            slots[i] = newValue
        }
    }

    /// Every connection, in descriptor order (a copy: the caller may close connections while walking it).
    var values: [Connection] {
        var out: [Connection] = []
        out.reserveCapacity(count)
        for case let c? in slots { out.append(c) }
        return out
    }
}
