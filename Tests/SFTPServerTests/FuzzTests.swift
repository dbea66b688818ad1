//===----------------------------------------------------------------------===//
// ImageGate: hostile input: truncated, garbage and random packets never crash or overread.
//===----------------------------------------------------------------------===//
import SFTPServer
import Testing

@Suite struct FuzzTests {
    /// Well-formed requests of every kind, used as seeds for truncation and mutation.
    static let seeds: [Req] = [
        Req(SFTPType.realpath).u32(1).str("."),
        Req(SFTPType.stat).u32(2).str("/disk.qcow2"),
        Req(SFTPType.open).u32(3).str("/disk.qcow2").u32(1).u32(0x8000_000F).u64(1).u32(0).u32(0).u32(0o644).u32(1)
            .u32(2).u32(1).str("a").str("b"),
        Req(SFTPType.read).u32(4).bytes([0, 0, 0, 1]).u64(5).u32(32768),
        Req(SFTPType.readdir).u32(5).bytes([0, 0, 0, 1]),
        Req(SFTPType.extended).u32(6).str("limits@openssh.com"),
        Req(SFTPType.close).u32(7).bytes([0, 0, 0, 1]),
        Req(SFTPType.setstat).u32(8).str("/x").u32(4).u32(0),
    ]

    @Test func everyTruncationIsAMalformedPacketOrAnAnswer() {
        for seed in Self.seeds {
            for cut in 1..<seed.b.count {
                let h = Harness()
                _ = h.open()
                h.out.removeAll()
                var req = Req(0)
                req.b = Array(seed.b.prefix(cut))
                switch h.run(req) {
                case .close(let why): #expect(why.hasPrefix("malformed"))
                case .proceed: #expect(!Harness.decode(Array(h.out.bytes)).isEmpty)
                }
            }
        }
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SplitMix(seed: 0x5EED)
        for _ in 0..<5_000 {
            let h = Harness(size: 5000)
            let n = Int(rng.next() % 64)
            var req = Req(0)
            req.b = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if let first = req.b.first, rng.next() % 2 == 0 { req.b[0] = first % 21 }  // favour real types
            _ = h.run(req)
            #expect(h.out.count < 300_000)
        }
    }

    @Test func mutatedSeedsNeverCrash() {
        var rng = SplitMix(seed: 42)
        for _ in 0..<5_000 {
            let h = Harness(size: 5000)
            _ = h.open()
            var req = Self.seeds[Int(rng.next() % UInt64(Self.seeds.count))]
            for _ in 0..<(1 + rng.next() % 4) {
                let i = Int(rng.next() % UInt64(req.b.count))
                req.b[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            _ = h.run(req)
            #expect(h.out.count < 300_000)
        }
    }

    @Test func garbageStreamThroughFramerEndsOrWaits() {
        var rng = SplitMix(seed: 7)
        for _ in 0..<2_000 {
            var f = SFTPFramer()
            let chunk = (0..<Int(rng.next() % 600)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            chunk.withUnsafeBytes { f.append($0) }
            do {
                while let n = try f.next({ $0.count }) { #expect(n <= SFTPWireLimits.maxPacket) }
            } catch {
                // Oversize or empty length: the session would end here.
            }
            #expect(f.pending <= chunk.count)
        }
    }
}

/// A small deterministic generator, so a failure reproduces.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
