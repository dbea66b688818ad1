//===----------------------------------------------------------------------===//
// ImageGate: global and per-peer connection caps shared by all loops of a listener.
//===----------------------------------------------------------------------===//
import Synchronization

final class ConnectionLimiter: Sendable {
    private struct State {
        var total = 0
        var perPeer: [[UInt8]: Int] = [:]
    }
    private let state = Mutex(State())
    private let maxTotal: Int
    private let maxPerPeer: Int

    init(maxTotal: Int, maxPerPeer: Int) {
        self.maxTotal = maxTotal
        self.maxPerPeer = maxPerPeer
    }

    func acquire(_ peer: [UInt8]) -> Bool {
        state.withLock { s in
            let mine = s.perPeer[peer, default: 0]
            guard s.total < maxTotal, mine < maxPerPeer else { return false }
            s.total += 1
            s.perPeer[peer] = mine + 1
            return true
        }
    }

    func release(_ peer: [UInt8]) {
        state.withLock { s in
            s.total -= 1
            let mine = s.perPeer[peer, default: 1] - 1
            s.perPeer[peer] = mine > 0 ? mine : nil
        }
    }

    var current: Int { state.withLock { $0.total } }
}
