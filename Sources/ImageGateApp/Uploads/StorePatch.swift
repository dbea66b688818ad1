//===----------------------------------------------------------------------===//
// ImageGate: a tus PATCH into an object store, with the store's calls on a thread of its own, never on the
// HTTP event loop (Docs/object-storage.md, "tus PATCH off the event loop").
//===----------------------------------------------------------------------===//
import Dispatch
import GateCore
import HTTPServer
import Synchronization
import SystemIO

/// The loop side of the PATCH only copies body bytes into a queue; the PATCH's thread (`tus-patch`) runs
/// everything that waits on the store, in order: the start (the upload's listing, the sink reopened from the
/// tail object), the writes (a part upload and its checkpoint at each part boundary) and the answer (the
/// tail saved). When a queue's worth waits, `consume` answers `.wait`: the loop stops reading, TCP holds the
/// client back, and the loop's other connections (downloads) are served meanwhile. The thread resumes the
/// loop as soon as it has taken the queued bytes, so at most one part and one queue are held in memory.
final class StorePatch: BodySink {
    /// Queued bytes at which the loop stops reading until the thread takes them.
    static let queueBytes = 1 << 20

    private enum End {
        case complete(ConnectionWaker)
        case abandon
    }

    private struct State {
        var chunks: [[UInt8]] = []
        var queued = 0
        /// The loop's park while the queue is full.
        var waiting: ConnectionWaker?
        /// The start refused or a write failed: the loop stops sending bytes and asks for the answer.
        var stopped = false
        var end: End?
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
        let work = DispatchSemaphore(value: 0)
    }

    private let shared = Shared()

    /// `start` runs first on the PATCH's thread: the checks and the lease of `PatchSink.start`.
    init(start: @escaping @Sendable () -> BodyHandling) {
        let shared = self.shared
        _ = OSThread.spawn(name: "tus-patch") { Self.run(shared, start: start) }
    }

    func consume(_ bytes: UnsafeRawBufferPointer, later: ConnectionWaker) -> BodyStep {
        let step: BodyStep = shared.state.withLock { st in
            if st.stopped { return .stop }
            st.chunks.append(Array(bytes))
            st.queued += bytes.count
            guard st.queued >= Self.queueBytes else { return .more }
            st.waiting = later
            return .wait
        }
        if step != .stop { shared.work.signal() }
        return step
    }

    func complete(later: ConnectionWaker) -> Response? {
        shared.state.withLock { $0.end = .complete(later) }
        shared.work.signal()
        return nil
    }

    /// The client hung up (or the server stops), perhaps while a part uploads: the thread writes what was
    /// queued before, then ends the PATCH as `PatchSink.abandon` does. Never touches the sink from here.
    func abandon() {
        shared.state.withLock { st in if st.end == nil { st.end = .abandon } }
        shared.work.signal()
    }

    private static func run(_ shared: Shared, start: @Sendable () -> BodyHandling) {
        var patch: PatchSink?
        var refusal: Response?
        switch start() {
        case .stream(let sink): patch = sink as? PatchSink
        case .refuse(let response): refusal = response
        case .buffer: break
        }
        if patch == nil, refusal == nil { refusal = TusHandler.answer(500, StatusText.reason(500)) }
        var failed = patch == nil
        if failed { stop(shared) }
        while true {
            shared.work.wait()
            let (chunks, end, waiting) = shared.state.withLock { st in
                defer {
                    st.chunks = []
                    st.queued = 0
                    st.waiting = nil
                }
                return (st.chunks, st.end, st.waiting)
            }
            // The loop reads on while these bytes are written: at most one more queue waits meanwhile.
            waiting?.resume()
            if let patch, !failed {
                for chunk in chunks where !failed {
                    failed = !chunk.withUnsafeBytes { patch.consume($0) }
                }
                if failed { stop(shared) }
            }
            switch end {
            case nil: continue
            case .complete(let later):
                later.answer(refusal ?? patch!.complete())
            case .abandon:
                patch?.abandon()
            }
            return
        }
    }

    /// No more bytes: `consume` answers `.stop` (the loop then asks for the answer); a parked loop resumes.
    private static func stop(_ shared: Shared) {
        let waiting = shared.state.withLock { st in
            st.stopped = true
            st.chunks = []
            st.queued = 0
            defer { st.waiting = nil }
            return st.waiting
        }
        waiting?.resume()
    }
}

@available(*, unavailable)
extension StorePatch: Sendable {}
