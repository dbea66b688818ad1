//===----------------------------------------------------------------------===//
// ImageGate: a second thread for an import's checks and writes, so receiving overlaps hashing and writing.
//===----------------------------------------------------------------------===//
import Dispatch
import GateCore
import Synchronization
import SystemIO

/// Bytes arrive on the fetch thread (libcurl's callbacks); SHA-256, inspection and the file write run on a
/// worker thread, fed through a bounded queue of 1 MiB batches. The order of bytes is kept; memory stays
/// bounded (`depth` batches); a failure on the worker stops the fetch at its next callback.
///
/// Batches are recycled: the worker hands each written batch back and the producer fills it again, so a
/// multi-GB import allocates `depth` + 1 buffers once instead of a fresh 1 MiB one (an mmap, 256 page faults
/// and an munmap) per MiB received (issue 17: receive, hash and write fully overlapped, fewer copies).
final class PipelinedSink: @unchecked Sendable {
    // @unchecked: `sink` is used only by the worker thread until `finish` joins it; the queue and the failure
    // are behind `state`; the current batch is touched only by the producer thread.
    private let sink: ImportSink
    private let batchSize = 1 << 20
    private var batch: [UInt8] = []
    private struct State {
        var queue: [[UInt8]] = []
        /// Written batches, emptied but keeping their capacity, for the producer to fill again.
        var spare: [[UInt8]] = []
        var closed = false
        var failure: ImportFailure?
    }
    private let state = Mutex(State())
    private let items = DispatchSemaphore(value: 0)
    private let space: DispatchSemaphore
    private var worker: OSThread?

    init(_ sink: ImportSink, depth: Int = 16) {
        self.sink = sink
        self.space = DispatchSemaphore(value: depth)
        batch.reserveCapacity(batchSize)
        worker = OSThread.spawn(name: "import-write") { [self] in drain() }
    }

    private func drain() {
        while true {
            items.wait()
            let next: [UInt8]? = state.withLock { s in s.queue.isEmpty ? nil : s.queue.removeFirst() }
            guard var chunk = next else { return }  // closed and empty
            if state.withLock({ $0.failure != nil }) {
                space.signal()
                continue
            }
            let f = chunk.withUnsafeBytes { sink.write($0) }
            chunk.removeAll(keepingCapacity: true)
            state.withLock { s in
                if let f { s.failure = f }
                s.spare.append(chunk)
            }
            // Only now: the producer may not refill more than `depth` batches, in the queue or being written.
            space.signal()
        }
    }

    private func enqueue(_ chunk: [UInt8]) {
        space.wait()
        state.withLock { $0.queue.append(chunk) }
        items.signal()
    }

    /// Producer side: false once the worker has failed (the fetch then stops).
    func write(_ buffer: UnsafeRawBufferPointer) -> Bool {
        if state.withLock({ $0.failure != nil }) { return false }
        var rest = buffer
        while !rest.isEmpty {
            // Fill up to exactly batchSize, so a recycled buffer never has to grow.
            let n = min(rest.count, batchSize - batch.count)
            batch.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if batch.count == batchSize {
                enqueue(batch)
                batch = state.withLock { $0.spare.popLast() } ?? []
                batch.reserveCapacity(batchSize)
            }
        }
        return true
    }

    var failure: ImportFailure? { state.withLock { $0.failure } }

    /// Flushes, stops the worker and hands the sink back (all bytes written, or the first failure).
    func close() -> (ImportSink, ImportFailure?) {
        if !batch.isEmpty { enqueue(batch) }
        batch = []
        state.withLock { $0.closed = true }
        items.signal()  // wakes the worker for the empty-queue exit
        worker?.join()
        worker = nil
        return (sink, state.withLock { $0.failure })
    }
}
