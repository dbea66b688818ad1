//===----------------------------------------------------------------------===//
// ImageGate: what one event loop shares with its siblings: its wake-up descriptor, the connections handed
// to it, and its connection counts (for balancing and for the per-loop report at shutdown).
//===----------------------------------------------------------------------===//
import GateCore
import Synchronization
import SystemIO

/// One loop's inbox. Whichever loop accepts a connection gives it to the loop that owns the fewest, so
/// a burst of new connections (wrk starting 16 at once, one loop woken for all of them) ends up evenly
/// spread instead of on the loop that happened to be woken (issue 17: 68 % / 32 % of the CPU before).
final class LoopMailbox: Sendable {
    let index: Int
    let wake: EventFD
    /// Accepted sockets handed to this loop, not yet adopted by it.
    private let inbox = Mutex<[(fd: Int32, peer: PeerAddress)]>([])
    private let stopFlag = Atomic<Bool>(false)
    /// Parked connections (by tag) whose slice fetch finished, with its error if it failed.
    private let readySlices = Mutex<[(tag: UInt64, park: UInt64, error: GateError?)]>([])
    /// Parked request bodies to resume (answer nil) and answers given later, by connection tag and park.
    private let bodyReports = Mutex<[(tag: UInt64, park: UInt64, answer: HandedResponse?)]>([])
    /// Connections this loop owns now, including those waiting in its inbox (counted when handed over, so
    /// the next pick in the same burst already sees them).
    let open = Atomic<Int>(0)
    /// Connections this loop has owned over its life: the balance the benchmark reports.
    let owned = Atomic<Int>(0)

    init(index: Int, wake: EventFD) {
        self.index = index
        self.wake = wake
    }

    func hand(_ fd: Int32, _ peer: PeerAddress) {
        inbox.withLock { $0.append((fd, peer)) }
        wake.signal()
    }

    func takeAll() -> [(fd: Int32, peer: PeerAddress)] { Self.drain(inbox) }

    /// Called on a fetch thread when the slice a parked connection waits for is local (or failed).
    func sliceReady(tag: UInt64, park: UInt64, error: GateError?) {
        readySlices.withLock { $0.append((tag, park, error)) }
        wake.signal()
    }

    func takeReadySlices() -> [(tag: UInt64, park: UInt64, error: GateError?)] { Self.drain(readySlices) }

    /// Called on the application's thread (`ConnectionWaker`).
    func bodyReport(tag: UInt64, park: UInt64, answer: HandedResponse?) {
        bodyReports.withLock { $0.append((tag, park, answer)) }
        wake.signal()
    }

    func takeBodyReports() -> [(tag: UInt64, park: UInt64, answer: HandedResponse?)] { Self.drain(bodyReports) }

    /// Everything posted to `box` so far, leaving it empty (the three queues above are emptied the same way).
    private static func drain<T>(_ box: borrowing Mutex<[T]>) -> [T] {
        box.withLock { items in
            if items.isEmpty { return [] }
            defer { items.removeAll() }
            return items
        }
    }

    func requestStop() {
        stopFlag.store(true, ordering: .releasing)
        wake.signal()
    }

    var stopRequested: Bool { stopFlag.load(ordering: .acquiring) }

    /// The loop with the fewest open connections; `preferred` on a tie (no hand-over when it does not help).
    static func leastLoaded(_ boxes: [LoopMailbox], preferred: Int) -> Int {
        var best = preferred
        var bestOpen = boxes[preferred].open.load(ordering: .relaxed)
        for b in boxes where b.index != preferred {
            let n = b.open.load(ordering: .relaxed)
            if n < bestOpen {
                best = b.index
                bestOpen = n
            }
        }
        return best
    }
}

/// A response made on another thread for a loop to write (`ConnectionWaker.answer`).
final class HandedResponse: @unchecked Sendable {
    // @unchecked: the thread that made it gives it up when handing it over; from then on only the loop that
    // takes it from its mailbox uses it.
    let response: Response
    init(_ response: Response) { self.response = response }
}
